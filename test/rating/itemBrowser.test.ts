/**
 * campaigns.browse on a real project: a campaign of six pair items rated by hand-made plans
 * (answers, a flag, a skip, rationales), so each filter's items are known exactly; and the same
 * filters through the real `alol campaign items` command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { toShown } from '../../src/main/rating/ratingService';
import type { Input } from '../../src/shared/contract';
import type { Verdict } from '../../src/shared/rating';
import { BrowsePage } from '../../src/shared/itemBrowser';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

const A = 'sys-alpha';
const B = 'sys-beta';
const C = 'browse';

type Answer = typeof A | typeof B | 'both_good' | 'both_bad' | 'flag';
/** Per pair item k (in id order): who wins on each criterion for each annotator; 'flag' flags the item unanswered. */
const PLAN: Record<'alice' | 'bob', { helpful: Answer[]; safe: Answer[] }> = {
  alice: { helpful: [A, 'flag', A, B, 'both_good', 'both_bad'], safe: [A, 'flag', B, B, B, 'both_good'] },
  bob: { helpful: [B, A, A, B, 'both_good', 'both_good'], safe: [A, A, B, A, B, 'both_good'] },
};

describe('campaigns.browse (the item browser) on hand-made ratings', () => {
  const dir = useSuiteTempDir('alol-browse-');
  let backend: Backend;
  /** Pair item ids in id order (k = 0..5), and the gold items' ids. */
  let pair: number[] = [];
  let gold: number[] = [];
  let skippedItem = 0;

  const ids = async (filter: Omit<Input<'campaigns.browse'>, 'campaign'>): Promise<number[]> => {
    const page = await call(backend, 'campaigns.browse', { campaign: C, limit: 100, ...filter });
    expect(BrowsePage.parse(page)).toEqual(page);
    expect(page.total).toBe(page.rows.length);
    return page.rows.map((r) => r.id);
  };
  const at = (...ks: number[]): number[] => ks.map((k) => pair[k] as number);

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: C, overlap: 3, gold: 1 });
    const items = backend.db
      .prepare(
        'SELECT id, kind, first_system FROM items WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?) ORDER BY id',
      )
      .all(C) as { id: number; kind: string; first_system: string }[];
    pair = items.filter((i) => i.kind === 'pair').map((i) => i.id);
    gold = items.filter((i) => i.kind === 'gold').map((i) => i.id);
    expect(pair).toHaveLength(6);
    expect(gold.length).toBeGreaterThan(0);
    const firstOf = new Map(items.map((i) => [i.id, i.first_system]));
    const canonical = (winner: Answer, first: string): Verdict =>
      winner === 'both_good' || winner === 'both_bad' ? winner : winner === first ? 'first' : 'second';

    // Carol skips the first item she is offered and stops there.
    const carol = (await call(backend, 'annotators.add', { campaign: C, name: 'carol', link: false })).annotator.id;
    const offered = (await call(backend, 'rating.next', { campaign: C, annotator: carol })).item!;
    await call(backend, 'rating.submit', {
      campaign: C,
      annotator: carol,
      assignmentId: offered.assignmentId,
      skip: true,
      activeMs: 100,
    });
    skippedItem = backend.db
      .prepare('SELECT item_id FROM assignments WHERE id = ?')
      .pluck()
      .get(offered.assignmentId) as number;

    for (const name of ['alice', 'bob'] as const) {
      const annotator = (await call(backend, 'annotators.add', { campaign: C, name, link: false })).annotator.id;
      const who = { campaign: C, annotator };
      let item = (await call(backend, 'rating.next', who)).item;
      while (item) {
        const a = backend.db
          .prepare('SELECT item_id, swapped FROM assignments WHERE id = ?')
          .get(item.assignmentId) as { item_id: number; swapped: number };
        const k = pair.indexOf(a.item_id);
        const rationale = `${name} on item ${a.item_id}`;
        let submit: Input<'rating.submit'>;
        if (k < 0)
          submit = { ...who, assignmentId: item.assignmentId, helpful: 'left', safe: 'left', rationale, activeMs: 100 };
        else if (PLAN[name].helpful[k] === 'flag')
          submit = {
            ...who,
            assignmentId: item.assignmentId,
            flag: 'broken',
            flagNote: 'the response is cut off',
            rationale,
            activeMs: 100,
          };
        else {
          const first = firstOf.get(a.item_id) as string;
          const shown = (c: 'helpful' | 'safe') =>
            toShown(canonical(PLAN[name][c][k] as Answer, first), a.swapped === 1);
          submit = {
            ...who,
            assignmentId: item.assignmentId,
            helpful: shown('helpful'),
            safe: shown('safe'),
            rationale,
            activeMs: 100,
          };
        }
        item = (await call(backend, 'rating.submit', submit)).next;
      }
    }
  }, 180_000);

  afterAll(() => {
    backend.close();
  });

  it('lists every item, paged, in id order, each with every rating and its rationale', async () => {
    const all = await call(backend, 'campaigns.browse', { campaign: C, limit: 100 });
    expect(all.rows.map((r) => r.id)).toEqual([...pair, ...gold].sort((x, y) => x - y));
    const page = await call(backend, 'campaigns.browse', { campaign: C, offset: 2, limit: 2 });
    expect(page.total).toBe(all.total);
    expect(page.rows.map((r) => r.id)).toEqual(all.rows.slice(2, 4).map((r) => r.id));
    const first = all.rows.find((r) => r.id === pair[0])!;
    expect(
      first.given
        .filter((g) => !g.skipped)
        .map((g) => [g.annotator, g.rationale])
        .sort(),
    ).toEqual([
      ['alice', `alice on item ${pair[0]}`],
      ['bob', `bob on item ${pair[0]}`],
    ]);
    expect([first.first.system, first.second.system].sort()).toEqual([A, B]);
    const flagged = all.rows.find((r) => r.id === pair[1])!.given.find((g) => g.annotator === 'alice')!;
    expect(flagged).toMatchObject({
      flag: 'broken',
      flagNote: 'the response is cut off',
      helpful: null,
      counted: false,
    });
  });

  it('filters flagged, skipped and by annotator', async () => {
    expect(await ids({ flagged: true })).toEqual(at(1));
    expect(await ids({ skipped: true })).toEqual([skippedItem]);
    expect(await ids({ annotator: 'carol' })).toEqual([skippedItem]);
    expect(await ids({ annotator: 'alice' })).toEqual([...pair, ...gold].sort((x, y) => x - y));
    // With an annotator, flagged means flagged by them: bob rated the item alice flagged, but flagged nothing.
    expect(await ids({ flagged: true, annotator: 'bob' })).toEqual([]);
    expect(await ids({ skipped: true, annotator: 'alice' })).toEqual([]);
    expect(await ids({ skipped: true, annotator: 'carol' })).toEqual([skippedItem]);
    expect(await ids({ flagged: true, annotator: 'alice' })).toEqual(at(1));
    expect(await backend.dispatch('campaigns.browse', { campaign: C, annotator: 'nobody' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('filters disagreement per criterion and on either', async () => {
    // Helpful: item 0 (A against B) and item 5 (both bad against both good); safe: item 3.
    expect(await ids({ disagreement: 'helpful' })).toEqual(at(0, 5));
    expect(await ids({ disagreement: 'safe' })).toEqual(at(3));
    expect(await ids({ disagreement: 'any' })).toEqual(at(0, 3, 5));
    const page = await call(backend, 'campaigns.browse', { campaign: C, disagreement: 'any' });
    expect(page.rows.map((r) => r.disagree)).toEqual([['helpful'], ['safe'], ['helpful']]);
  });

  it('filters by systems and by the outcome behind a win-rate cell, over the ratings the results count', async () => {
    expect(await ids({ systems: [A, B] })).toEqual(pair);
    expect(await ids({ kind: 'gold' })).toEqual(gold);
    // Helpful, A won: alice on 0 and 2 (her flagged 1 does not count), bob on 1 and 2.
    expect(await ids({ systems: [A, B], outcome: { criterion: 'helpful', result: 'a' } })).toEqual(at(0, 1, 2));
    expect(await ids({ systems: [A, B], outcome: { criterion: 'helpful', result: 'b' } })).toEqual(at(0, 3));
    // The same cell seen from B's side.
    expect(await ids({ systems: [B, A], outcome: { criterion: 'helpful', result: 'a' } })).toEqual(at(0, 3));
    expect(await ids({ systems: [A, B], outcome: { criterion: 'helpful', result: 'tie' } })).toEqual(at(4, 5));
    expect(await ids({ systems: [A, B], outcome: { criterion: 'helpful', result: 'both_bad' } })).toEqual(at(5));
    expect(await ids({ systems: [A, B], outcome: { criterion: 'safe', result: 'both_good' } })).toEqual(at(5));
    expect(await ids({ systems: [A, B], outcome: { criterion: 'safe', result: 'a' } })).toEqual(at(0, 1, 3));
    expect(
      await backend.dispatch('campaigns.browse', { campaign: C, outcome: { criterion: 'safe', result: 'a' } }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('answers the same through alol campaign items with its filter flags', () => {
    const flagged = alol(['campaign', 'items', C, '--flagged', '--json', '--project', dir()]);
    expect(flagged.stderr).toBe('');
    expect(flagged.status).toBe(0);
    const rows = flagged.json() as { id: number; given: { flagNote: string }[] }[];
    expect(rows.map((r) => r.id)).toEqual(at(1));
    expect(rows[0]!.given.map((g) => g.flagNote)).toContain('the response is cut off');
    const run = (...flags: string[]) =>
      (alol(['campaign', 'items', C, ...flags, '--json', '--project', dir()]).json() as { id: number }[]).map(
        (r) => r.id,
      );
    expect(run('--skipped')).toEqual([skippedItem]);
    expect(run('--disagreement')).toEqual(at(0, 3, 5));
    expect(run('--disagreement', '--annotator', 'bob')).toEqual(at(0, 3, 5));
    expect(run('--annotator', 'carol')).toEqual([skippedItem]);
  });
});
