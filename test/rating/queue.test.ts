/**
 * An annotator's queue and the counts everyone shows of it, on the real backend (real SQLite file,
 * the real preparation job): the total (done + remaining) is known before the first item, swapped
 * repeats included, and does not move while annotators work through it; a skipped item comes back
 * once, at the end of that annotator's queue, and a second skip removes it; "all done" (no next
 * item) comes exactly when nothing is left that this annotator can rate; and `alol campaign show`
 * (a real child process) gives the same figures as the rating API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import type { CampaignSummary, RatingItem, RatingProgress } from '../../src/shared/rating';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

type Who = { campaign: string; annotator: number };

describe('the annotator queue and its counts', () => {
  const dir = useSuiteTempDir('alol-queue-');
  let backend: Backend;

  beforeAll(async () => {
    backend = openBackend(dir());
    // The models and their samples are made once; each campaign below reuses them.
    await campaignProject(backend, { name: 'q-repeats', overlap: 2, gold: 2, repeatSwapped: 0.5, seed: 4 });
    await campaignProject(backend, { name: 'q-skips', overlap: 1, gold: 1, repeatSwapped: 1, seed: 5 });
    await campaignProject(backend, { name: 'q-shared', overlap: 1, gold: 0, repeatSwapped: 0, seed: 6 });
  }, 240_000);
  afterAll(() => {
    backend.close();
  });

  async function annotator(campaign: string, name: string): Promise<Who> {
    const added = await call(backend, 'annotators.add', { campaign, name, link: false });
    return { campaign, annotator: added.annotator.id };
  }

  const total = (p: RatingProgress): number => p.mine.done + p.mine.remaining;

  /** Answers the item: the first response more helpful, both safe. */
  async function answer(who: Who, item: RatingItem) {
    return call(backend, 'rating.submit', {
      ...who,
      assignmentId: item.assignmentId,
      helpful: 'left',
      safe: 'both_good',
      activeMs: 500,
    });
  }

  /** The figures `alol campaign show --json` prints, from a separate process on the same project. */
  function cliShow(campaign: string): CampaignSummary {
    const run = alol(['campaign', 'show', campaign, '--json', '--project', dir()]);
    if (run.status !== 0) throw new Error(`alol campaign show failed (${run.status}): ${run.stderr}`);
    return run.json() as CampaignSummary;
  }

  it('knows the total up front, repeats included, and keeps it while two annotators rate through in turns', async () => {
    const C = 'q-repeats';
    const people = [await annotator(C, 'ada'), await annotator(C, 'ben')];
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    const perPerson = summary.items + summary.goldItems;
    const totals: number[] = [];
    for (const who of people) {
      const start = (await call(backend, 'rating.session', who)).progress;
      expect(start.mine.done).toBe(0);
      // Overlap 2 with two annotators: each sees every item, and about half the pairs again, swapped.
      expect(start.mine.remaining).toBeGreaterThan(perPerson);
      expect(start.mine.remaining).toBeLessThan(perPerson + summary.items);
      totals.push(total(start));
    }

    const current = new Map<number, RatingItem | null>();
    for (const who of people) current.set(who.annotator, (await call(backend, 'rating.next', who)).item);
    const decisions = new Map<number, number>(people.map((p) => [p.annotator, 0]));
    let steps = 0;
    // In turns, so that each works while the other's items come and go.
    while ([...current.values()].some((item) => item !== null)) {
      if (++steps > 200) throw new Error('the queues did not end');
      for (const [i, who] of people.entries()) {
        const item = current.get(who.annotator);
        if (!item) continue;
        const after = await answer(who, item);
        decisions.set(who.annotator, (decisions.get(who.annotator) ?? 0) + 1);
        current.set(who.annotator, after.next);
        expect(total(after.progress), `${who.annotator} after ${decisions.get(who.annotator)}`).toBe(totals[i]);
        expect(after.progress.mine.done).toBe(decisions.get(who.annotator));
        // All done exactly when nothing is left.
        expect(after.next === null).toBe(after.progress.mine.remaining === 0);
      }
    }
    // The total announced at the start was the number of decisions each made.
    for (const [i, who] of people.entries()) expect(decisions.get(who.annotator)).toBe(totals[i]);
    const repeats = backend.db
      .prepare(
        'SELECT count(*) FROM assignments a JOIN items i ON i.id = a.item_id WHERE i.campaign_id = ? AND a.repeat_of IS NOT NULL',
      )
      .pluck()
      .get(summary.id) as number;
    expect(repeats).toBe(totals.reduce((a, b) => a + b, 0) - 2 * perPerson);
    expect(repeats).toBeGreaterThan(0);
  });

  it('brings a skipped item back once, at the end of the queue; a second skip removes it for good', async () => {
    const C = 'q-skips';
    const who = await annotator(C, 'cleo');
    const other = await annotator(C, 'dan');
    const start = (await call(backend, 'rating.session', who)).progress;
    const announced = total(start);

    const first = (await call(backend, 'rating.next', who)).item!;
    const itemOf = (assignment: number): number =>
      backend.db.prepare('SELECT item_id FROM assignments WHERE id = ?').pluck().get(assignment) as number;
    const skippedItem = itemOf(first.assignmentId);
    const isOpen = (): number =>
      backend.db.prepare('SELECT open FROM items WHERE id = ?').pluck().get(skippedItem) as number;
    // Its swapped repeat (1 for a pair item, as repeatSwapped is 1; 0 for a gold item).
    const owed = backend.db
      .prepare('SELECT want_repeat FROM assignments WHERE id = ?')
      .pluck()
      .get(first.assignmentId) as number;
    const skipped = await call(backend, 'rating.submit', {
      ...who,
      assignmentId: first.assignmentId,
      skip: true,
      activeMs: 100,
    });
    // Still owed: the total does not move, and nothing counts as done yet.
    expect(skipped.progress.mine).toEqual({ done: 0, remaining: announced });
    expect(skipped.next?.assignmentId).not.toBe(first.assignmentId);
    // Overlap 1: while it is to come back, the item stays cleo's, closed to others.
    expect(isOpen()).toBe(0);

    // Everything else first (new items, gold, swapped repeats), then the skip.
    const served: number[] = [];
    let item = skipped.next;
    while (item && item.assignmentId !== first.assignmentId) {
      served.push(item.assignmentId);
      const after = await answer(who, item);
      expect(total(after.progress)).toBe(announced);
      item = after.next;
      if (served.length > 100) throw new Error('the skip never came back');
    }
    expect(item?.assignmentId).toBe(first.assignmentId);
    expect(item?.rating).toBeNull();
    expect(served.length).toBe(announced - 1 - owed);
    expect(served.map(itemOf)).not.toContain(skippedItem);
    const atEnd = (await call(backend, 'rating.next', who)).progress;
    expect(atEnd.mine).toEqual({ done: announced - 1 - owed, remaining: 1 + owed });
    expect(isOpen()).toBe(0);

    // Skipped again: gone for good, with its repeat (a repeat of a skip means nothing); all done.
    const again = await call(backend, 'rating.submit', {
      ...who,
      assignmentId: first.assignmentId,
      skip: true,
      activeMs: 100,
    });
    expect(again.next).toBeNull();
    expect(again.progress.mine).toEqual({ done: announced - owed, remaining: 0 });
    expect((await call(backend, 'rating.next', who)).item).toBeNull();
    expect(
      backend.db.prepare('SELECT skipped, edits FROM ratings WHERE assignment_id = ?').get(first.assignmentId),
    ).toEqual({ skipped: 1, edits: 1 });
    expect(
      backend.db.prepare('SELECT count(*) FROM assignments WHERE repeat_of = ?').pluck().get(first.assignmentId),
    ).toBe(0);

    // Given up, the item goes to someone else: it is open again, and in dan's queue (cleo took every other pair).
    expect(isOpen()).toBe(1);
    let danItem = (await call(backend, 'rating.next', other)).item;
    const dans: number[] = [];
    while (danItem) {
      dans.push(itemOf(danItem.assignmentId));
      danItem = (await answer(other, danItem)).next;
      if (dans.length > 100) throw new Error("dan's queue did not end");
    }
    expect(dans).toContain(skippedItem);

    // The CLI (another process) and the API agree on it all, for those who rated and for a newcomer.
    const eve = await annotator(C, 'eve');
    const summary = cliShow(C);
    const cleo = summary.annotators.find((a) => a.name === 'cleo')!;
    expect({ done: cleo.done, remaining: cleo.remaining }).toEqual(
      (await call(backend, 'rating.session', who)).progress.mine,
    );
    expect(cleo.skipped).toBe(1);
    const eveRow = summary.annotators.find((a) => a.name === 'eve')!;
    expect(eveRow.remaining).toBeGreaterThan(0);
    expect({ done: eveRow.done, remaining: eveRow.remaining }).toEqual(
      (await call(backend, 'rating.session', eve)).progress.mine,
    );
  });

  it('answers a skip when it comes back: the answer replaces the skip and counts once', async () => {
    const C = 'q-skips';
    const who = await annotator(C, 'fay');
    // Overlap 1 and three annotators before her: only gold items (every annotator sees each) are left for fay.
    const start = (await call(backend, 'rating.session', who)).progress;
    expect(start.mine.remaining).toBeGreaterThan(0);
    const first = (await call(backend, 'rating.next', who)).item!;
    const skipped = await call(backend, 'rating.submit', {
      ...who,
      assignmentId: first.assignmentId,
      skip: true,
      activeMs: 100,
    });
    let item = skipped.next;
    while (item && item.assignmentId !== first.assignmentId) item = (await answer(who, item)).next;
    expect(item?.assignmentId).toBe(first.assignmentId);
    const answered = await answer(who, item!);
    expect(answered.progress.mine.done).toBe(total(start) - answered.progress.mine.remaining);
    expect(
      backend.db
        .prepare('SELECT skipped, edits, helpful IS NOT NULL AS answered FROM ratings WHERE assignment_id = ?')
        .get(first.assignmentId),
    ).toEqual({
      skipped: 0,
      edits: 1,
      answered: 1,
    });
    let rest = answered.next;
    while (rest) rest = (await answer(who, rest)).next;
    expect((await call(backend, 'rating.next', who)).progress.mine).toEqual({ done: total(start), remaining: 0 });
  });

  it('says all done exactly when nothing is left that this annotator can rate, while others share the items', async () => {
    const C = 'q-shared';
    const [gil, hal] = [await annotator(C, 'gil'), await annotator(C, 'hal')];
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    // Overlap 1: each could rate every item, until the other takes some.
    for (const who of [gil, hal])
      expect((await call(backend, 'rating.session', who)).progress.mine).toEqual({ done: 0, remaining: summary.items });

    // gil rates two; hal then works through the rest; gil's queue shrinks as hal takes items, never grows.
    let g = (await call(backend, 'rating.next', gil)).item!;
    g = (await answer(gil, g)).next!;
    const gilHeld = g;
    let h = (await call(backend, 'rating.next', hal)).item;
    let lastGilTotal = summary.items;
    while (h) {
      const after = await answer(hal, h);
      expect(after.next === null).toBe(after.progress.mine.remaining === 0);
      h = after.next;
      const gilNow = (await call(backend, 'rating.session', gil)).progress;
      expect(total(gilNow)).toBeLessThanOrEqual(lastGilTotal);
      lastGilTotal = total(gilNow);
    }
    // hal is done while gil still holds one item: gil is not done until he decides it.
    const gilLeft = await call(backend, 'rating.next', gil);
    expect(gilLeft.item?.assignmentId).toBe(gilHeld.assignmentId);
    expect(gilLeft.progress.mine).toEqual({ done: 1, remaining: 1 });
    const gilLast = await answer(gil, gilHeld);
    expect(gilLast.next).toBeNull();
    expect(gilLast.progress.mine).toEqual({ done: 2, remaining: 0 });
    // The campaign is complete, and every count of it agrees: the API, campaigns.get, the CLI.
    const api = await call(backend, 'campaigns.get', { campaign: C });
    expect(api.done).toBe(api.target);
    expect(gilLast.progress.campaign).toEqual({ done: api.done, target: api.target });
    const cli = cliShow(C);
    expect({ done: cli.done, target: cli.target }).toEqual({ done: api.done, target: api.target });
    for (const who of [gil, hal]) {
      const mine = (await call(backend, 'rating.session', who)).progress.mine;
      const row = cli.annotators.find((a) => a.id === who.annotator)!;
      expect({ done: row.done, remaining: row.remaining }).toEqual(mine);
      expect(api.annotators.find((a) => a.id === who.annotator)).toMatchObject(mine);
    }
    expect(cli.annotators.reduce((n, a) => n + a.done, 0)).toBe(summary.items);
  });
});
