/**
 * The rating screen end to end, as annotators use it: a real project whose campaign (two tiny
 * models, overlap 2) was made through the backend, the real server (out/main/server.js --campaign)
 * and two annotators' personal links, each in its own Chromium context. Everything is done by
 * keyboard: answers, strengths, a rationale, an undo, a flag, a skip, and a change to an earlier
 * decision from the last-10 list. Then the server is killed (SIGKILL) mid-session and restarted:
 * every answer is read back from the database, and each screen goes on at its next unrated item.
 * Direct HTTP calls check what an annotator's token cannot do, and every page and every rating
 * response is checked for the models' names. Needs `npm run build` first, and Chromium.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toShown } from '../../src/main/rating/ratingService';
import type { ShownRating, ShownVerdict, Strength } from '../../src/shared/rating';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { callAs, launchChromium, startStudioServer, stopStudioServer, watchedPage } from './studio';

const C = 'e2e-rating';
const SYSTEMS = ['sys-alpha', 'sys-beta'];

/** What an annotator decided about one assignment, as they saw it. */
type Expected = Omit<ShownRating, 'rationale' | 'flagNote'> & { rationale?: string; flagNote?: string };

function expected(partial: Partial<Expected>): Expected {
  return {
    helpful: null,
    safe: null,
    helpfulStrength: null,
    safeStrength: null,
    flag: null,
    skipped: false,
    ...partial,
  };
}

interface Annotator {
  name: string;
  id: number;
  token: string;
  page: Page;
  consoleErrors: string[];
  /** Rating responses' bodies, as the page received them. */
  bodies: string[];
  /** Rating requests' bodies, as the page sent them. */
  sent: string[];
  /** page.content() at every item shown. */
  snapshots: string[];
  decisions: Map<number, Expected>;
}

describe('Rating screen (annotator links, keyboard only)', () => {
  let projectDir = '';
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let url = '';
  let port = 0;
  let ownerToken = '';
  const annotators: Record<'alice' | 'bob', Annotator> = {} as Record<'alice' | 'bob', Annotator>;

  async function serve(args: string[]): Promise<void> {
    const started = await startStudioServer(projectDir, [...args, '--host', '127.0.0.1', '--campaign', C]);
    server = started.child;
    url = started.listening.url;
    port = started.listening.port;
    ownerToken = started.listening.token;
  }

  /** The assignment on screen. */
  async function shown(a: Annotator): Promise<number> {
    const value = await a.page.getByTestId('rating-item').getAttribute('data-assignment');
    return Number(value);
  }

  /** Waits for an item other than `previous` (or exactly `next`), and keeps a copy of the page. */
  async function nextItem(a: Annotator, previous: number, next?: number): Promise<number> {
    const selector =
      next === undefined
        ? `[data-testid="rating-item"]:not([data-assignment="${previous}"])`
        : `[data-testid="rating-item"][data-assignment="${next}"]`;
    await a.page.locator(selector).waitFor();
    a.snapshots.push(await a.page.content());
    return shown(a);
  }

  async function press(a: Annotator, ...keys: string[]): Promise<void> {
    for (const key of keys) await a.page.keyboard.press(key);
  }

  async function pressed(a: Annotator, testid: string): Promise<string | null> {
    return a.page.getByTestId(testid).getAttribute('aria-pressed');
  }

  /** Waits until the element has the focus (a locator: the page's CSP forbids the eval a string predicate needs). */
  async function focused(a: Annotator, testid: string): Promise<void> {
    await a.page.locator(`[data-testid="${testid}"]:focus`).waitFor();
  }

  async function text(a: Annotator, testid: string): Promise<string> {
    return (await a.page.getByTestId(testid).innerText()).trim();
  }

  function apiAs(token: string, method: string, input: unknown): Promise<{ status: number; body: unknown }> {
    return callAs(url, token, method, input);
  }

  /** Every rating of the campaign, read from the database as the annotator saw it. */
  function storedRatings(): Map<number, Expected & { annotator: number; activeMs: number }> {
    const db = new Database(join(projectDir, 'studio.db'), { readonly: true });
    try {
      const rows = db
        .prepare(
          `SELECT r.assignment_id, r.annotator_id, r.helpful, r.safe, r.helpful_strength, r.safe_strength, r.rationale, r.flag, r.flag_note, r.skipped, r.swapped, r.active_ms
           FROM ratings r JOIN campaigns c ON c.id = r.campaign_id WHERE c.name = ?`,
        )
        .all(C) as Array<Record<string, string | number | null>>;
      const side = (v: unknown, swapped: boolean): ShownVerdict | null =>
        v === null ? null : toShown(v as 'first', swapped);
      return new Map(
        rows.map((r) => {
          const swapped = r.swapped === 1;
          return [
            r.assignment_id as number,
            {
              annotator: r.annotator_id as number,
              activeMs: r.active_ms as number,
              ...expected({
                helpful: side(r.helpful, swapped),
                safe: side(r.safe, swapped),
                helpfulStrength: r.helpful_strength as Strength | null,
                safeStrength: r.safe_strength as Strength | null,
                flag: r.flag as ShownRating['flag'],
                skipped: r.skipped === 1,
              }),
              rationale: r.rationale as string,
              flagNote: r.flag_note as string,
            },
          ];
        }),
      );
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    projectDir = await mkdtemp(join(tmpdir(), 'alol-e2e-rating-'));
    const backend = openBackend(projectDir);
    const tokens: Record<string, { id: number; token: string }> = {};
    try {
      await campaignProject(backend, { name: C, overlap: 2 }, SYSTEMS as [string, string]);
      for (const name of ['alice', 'bob']) {
        const added = await call(backend, 'annotators.add', { campaign: C, name, link: true });
        tokens[name] = { id: added.annotator.id, token: added.token ?? '' };
      }
    } finally {
      backend.close();
    }
    await serve(['--port', '0']);
    browser = await launchChromium();
    for (const name of ['alice', 'bob'] as const) {
      const { page, consoleErrors } = await watchedPage(browser);
      const a: Annotator = {
        name,
        id: tokens[name]!.id,
        token: tokens[name]!.token,
        page,
        consoleErrors,
        bodies: [],
        sent: [],
        snapshots: [],
        decisions: new Map(),
      };
      page.on('request', (request) => {
        if (request.url().includes('/api/call/rating.')) a.sent.push(request.postData() ?? '');
      });
      page.on('response', (response) => {
        if (!response.url().includes('/api/call/rating.')) return;
        response.text().then(
          (body) => a.bodies.push(body),
          () => undefined,
        );
      });
      annotators[name] = a;
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stopStudioServer(server);
    if (projectDir) await rm(projectDir, { recursive: true, force: true });
  });

  it('opens a personal link on the rating screen alone: no navigation, no app.info, no event stream, token out of the address', async () => {
    for (const a of Object.values(annotators)) {
      const requests: string[] = [];
      a.page.on('request', (request) => requests.push(new URL(request.url()).pathname));
      await a.page.goto(`${url}#rate=${a.token}`);
      await a.page.getByTestId('rating-item').waitFor();
      expect(await text(a, 'rating-annotator')).toBe(a.name);
      expect(await text(a, 'rating-campaign-name')).toBe(C);
      expect(await a.page.getByTestId('nav-data').count()).toBe(0);
      expect(await a.page.getByTestId('project-dir').count()).toBe(0);
      expect(requests.filter((p) => p.startsWith('/api/'))).toEqual(
        expect.arrayContaining(['/api/call/rating.session', '/api/call/rating.next']),
      );
      expect(
        requests.some(
          (p) =>
            p === '/api/events' ||
            p.endsWith('/app.info') ||
            (p.startsWith('/api/call/') && !p.startsWith('/api/call/rating.')),
        ),
      ).toBe(false);
      expect(a.page.url()).not.toContain(a.token);
      expect(await a.page.evaluate('sessionStorage.getItem("alol.rate-token")')).toBe(a.token);
      // A first visit opens on the guidelines; G puts them away.
      await a.page.getByTestId('rating-guidelines').waitFor();
      await press(a, 'g');
      await a.page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
      expect(await text(a, 'rating-queue')).toBe('0 / 6');
      a.snapshots.push(await a.page.content());
    }
  });

  it('rates by keyboard: answers and strength, a rationale, an undo that brings the answers back, a flag, a skip, a change to an earlier decision', async () => {
    const a = annotators.alice;
    const help = a.page.getByTestId('key-help');
    await press(a, 'h');
    await help.waitFor();
    expect(await help.innerText()).toContain('Which response is safer?');
    await press(a, 'Escape');
    await help.waitFor({ state: 'detached' });

    // 1: A more helpful, B safer, helpfulness strength "slight".
    const a1 = await shown(a);
    await press(a, '1', 'w', '5');
    expect(await pressed(a, 'answer-helpful-left')).toBe('true');
    expect(await pressed(a, 'answer-safe-right')).toBe('true');
    expect(await a.page.getByTestId('strength-helpful').getAttribute('data-strength')).toBe('slight');
    await press(a, 'Enter');
    a.decisions.set(a1, expected({ helpful: 'left', safe: 'right', helpfulStrength: 'slight' }));
    const a2 = await nextItem(a, a1);

    // 2: both good twice, with a rationale typed after "/" (the keys type, they do not answer).
    await press(a, '3', 'e', '/');
    await focused(a, 'rating-rationale');
    await a.page.keyboard.type('both fine, 1 2 q w');
    await press(a, 'Escape');
    expect(await pressed(a, 'answer-helpful-both_good')).toBe('true');
    expect(await pressed(a, 'answer-safe-both_good')).toBe('true');
    await press(a, 'Enter');
    const a3 = await nextItem(a, a2);

    // 3: half answered, then Backspace takes decision 2 back with its answers.
    await press(a, '2');
    await press(a, 'Backspace');
    await nextItem(a, a3, a2);
    expect(await pressed(a, 'answer-helpful-both_good')).toBe('true');
    expect(await pressed(a, 'answer-safe-both_good')).toBe('true');
    expect(await a.page.getByTestId('rating-rationale').inputValue()).toBe('both fine, 1 2 q w');
    expect(await text(a, 'rating-count')).toBe('1');
    await press(a, '4', 'Enter');
    a.decisions.set(a2, expected({ helpful: 'both_bad', safe: 'both_good', rationale: 'both fine, 1 2 q w' }));
    // Item 3 comes back with the answer it had been given.
    await nextItem(a, a2, a3);
    expect(await pressed(a, 'answer-helpful-right')).toBe('true');

    // 3: flagged as truncated, with a note; Enter in the note submits.
    await press(a, 'f', '2');
    await focused(a, 'rating-flag-note');
    await a.page.keyboard.type('cut off mid-word');
    await press(a, 'Enter');
    a.decisions.set(a3, expected({ helpful: 'right', flag: 'truncated', flagNote: 'cut off mid-word' }));
    const a4 = await nextItem(a, a3);

    // 4: skipped.
    await press(a, 'k');
    a.decisions.set(a4, expected({ skipped: true }));
    const a5 = await nextItem(a, a4);

    // 5: B more helpful, A safer, safety strength "clear" (T twice).
    await press(a, '2', 'q', 't', 't', 'Enter');
    a.decisions.set(a5, expected({ helpful: 'right', safe: 'left', safeStrength: 'clear' }));
    const a6 = await nextItem(a, a5);

    // The last decisions, newest first; the oldest is opened and its safety answer changed.
    await press(a, 'l');
    const rows = a.page.getByTestId('rating-recent-row');
    await rows.first().waitFor();
    const listed = (await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-assignment')))).map(Number);
    expect(listed).toEqual([a5, a4, a3, a2, a1]);
    await press(a, 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowDown', 'Enter');
    await nextItem(a, a6, a1);
    await a.page.getByTestId('rating-editing').waitFor();
    expect(await pressed(a, 'answer-helpful-left')).toBe('true');
    expect(await pressed(a, 'answer-safe-right')).toBe('true');
    await press(a, 'r', 'Enter');
    a.decisions.set(a1, expected({ helpful: 'left', safe: 'both_bad', helpfulStrength: 'slight' }));
    await nextItem(a, a1, a6);
    expect(await a.page.getByTestId('rating-editing').count()).toBe(0);

    expect(await text(a, 'rating-count')).toBe('5');
    // The skip is not done: it comes back at the end of the queue.
    expect(await text(a, 'rating-queue')).toBe('4 / 6');
    // An answer given and not submitted when the server dies: not a decision, not kept.
    await press(a, '1');
  });

  it('lets the second annotator rate the same items, by keyboard', async () => {
    const b = annotators.bob;
    const b1 = await shown(b);
    await press(b, '1', 'q', 'Enter');
    b.decisions.set(b1, expected({ helpful: 'left', safe: 'left' }));
    const b2 = await nextItem(b, b1);
    await press(b, '4', 'r', 'Enter');
    b.decisions.set(b2, expected({ helpful: 'both_bad', safe: 'both_bad' }));
    await nextItem(b, b2);
    expect(await text(b, 'rating-count')).toBe('2');
    // The campaign counts both annotators' decisions (skips aside): 4 of alice's, 2 of bob's.
    expect(await text(b, 'rating-campaign')).toBe('6 / 12');
  });

  it('gives an annotator token the rating methods only, for itself only', async () => {
    const { alice, bob } = annotators;
    for (const [method, input] of [
      ['datasets.list', {}],
      ['app.info', {}],
      ['campaigns.items', { campaign: C }],
      ['campaigns.get', { campaign: C }],
      ['ratings.export', { campaign: C, format: 'raw', path: join(projectDir, 'leak.jsonl') }],
      ['annotators.add', { campaign: C, name: 'mallory' }],
    ] as const) {
      const refused = await apiAs(alice.token, method, input);
      expect(refused.status, method).toBe(403);
    }
    // The event stream: with the token in the header, not the annotator's (403); in the address,
    // refused before anyone is asked who it is (401: tokens travel in the Authorization header only).
    for (const [path, headers, status] of [
      [`/api/events?token=${alice.token}`, {}, 401],
      ['/api/events', { Authorization: `Bearer ${alice.token}` }, 403],
    ] as Array<[string, Record<string, string>, number]>) {
      const events = await fetch(new URL(path, url), { headers });
      expect(events.status, path).toBe(status);
      await events.body?.cancel();
    }
    // Naming the other annotator, or another campaign, is refused.
    expect((await apiAs(alice.token, 'rating.next', { annotator: bob.id })).status).toBe(403);
    expect((await apiAs(alice.token, 'rating.recent', { annotator: bob.id, campaign: C })).status).toBe(403);
    expect((await apiAs(alice.token, 'rating.next', { campaign: 'another' })).status).toBe(403);
    // Each reads back its own decisions only, and cannot open the other's.
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const recent = await apiAs(me.token, 'rating.recent', {});
      expect(recent.status).toBe(200);
      const ids = (recent.body as Array<{ assignmentId: number }>).map((r) => r.assignmentId);
      expect(new Set(ids)).toEqual(new Set(me.decisions.keys()));
      const theirs = [...other.decisions.keys()][0] as number;
      expect((await apiAs(me.token, 'rating.open', { assignmentId: theirs })).status).toBe(404);
    }
  });

  it('shows and sends no model name (not in any page, not in any rating response), and never says whom it rates as', async () => {
    for (const a of Object.values(annotators)) {
      // The page never says who it rates as: the server fills that in from the link's token.
      expect(a.sent.length).toBeGreaterThan(2);
      for (const body of a.sent)
        expect(Object.keys(JSON.parse(body) as object)).not.toEqual(expect.arrayContaining(['annotator']));
      for (const body of a.sent)
        expect(Object.keys(JSON.parse(body) as object)).not.toEqual(expect.arrayContaining(['campaign']));
      a.snapshots.push(await a.page.content());
      expect(a.snapshots.length).toBeGreaterThan(1);
      expect(a.bodies.length).toBeGreaterThan(2);
      for (const html of [...a.snapshots, ...a.bodies]) {
        for (const system of SYSTEMS) expect(html).not.toContain(system);
      }
    }
  });

  it('loses nothing when the server is killed mid-session, and goes on at the next unrated item after a restart', async () => {
    const { alice, bob } = annotators;
    const held = { alice: await shown(alice), bob: await shown(bob) };
    const dead = server as ChildProcess;
    const exited = new Promise((resolve) => dead.once('exit', resolve));
    dead.kill('SIGKILL');
    await exited;
    server = null;

    // The same port if it is free again (it is, on Linux, once the process is gone); else any port and the links again.
    const oldUrl = url;
    await serve(['--port', String(port)]).catch(() => serve(['--port', '0']));
    for (const a of [alice, bob]) {
      if (url === oldUrl) await a.page.reload();
      else await a.page.goto(`${url}#rate=${a.token}`);
    }

    // Every decision given is in the database, as given (in the annotator's left/right terms).
    const stored = storedRatings();
    const all = new Map([...alice.decisions, ...bob.decisions]);
    // alice's five (one of them a skip) and bob's two: the seven ratings the owner counts below.
    expect(all.size).toBe(7);
    expect(new Set(stored.keys())).toEqual(new Set(all.keys()));
    for (const [assignment, decision] of all) {
      const row = stored.get(assignment);
      expect(row, `assignment ${assignment}`).toMatchObject({
        ...decision,
        rationale: decision.rationale ?? '',
        flagNote: decision.flagNote ?? '',
      });
      expect(row?.annotator).toBe(alice.decisions.has(assignment) ? alice.id : bob.id);
    }
    expect([...stored.values()].some((r) => r.activeMs > 0)).toBe(true);
    // The owner's view agrees.
    const summary = await apiAs(ownerToken, 'campaigns.get', { campaign: C });
    expect(summary.body).toMatchObject({ done: 6, ratings: 7, target: 12 });

    // Each screen goes on at the item it held (unrated); alice's unsent answer is gone with the page.
    await nextItem(alice, -1, held.alice);
    await nextItem(bob, -1, held.bob);
    expect(await pressed(alice, 'answer-helpful-left')).toBe('false');
    expect(await text(alice, 'rating-queue')).toBe('4 / 6');
    expect(await text(bob, 'rating-queue')).toBe('2 / 6');

    // Alice finishes her queue by keyboard: the item she held, then the one she skipped, back at the end.
    const skippedByAlice = [...alice.decisions.entries()].find(([, d]) => d.skipped)?.[0];
    expect(skippedByAlice).toBeDefined();
    await press(alice, '1', 'q', 'Enter');
    await nextItem(alice, held.alice, skippedByAlice);
    expect(await text(alice, 'rating-queue')).toBe('5 / 6');
    await press(alice, '3', 'e', 'Enter');
    await alice.page.getByTestId('rating-done').waitFor();
    expect(await text(alice, 'rating-queue')).toBe('6 / 6');
    alice.snapshots.push(await alice.page.content());
    for (const html of alice.snapshots) for (const system of SYSTEMS) expect(html).not.toContain(system);

    for (const a of [alice, bob]) expect(a.consoleErrors, a.name).toEqual([]);
  });

  it('shows "reconnecting" while the server is down, sends the decision again with its key, and stores it once when the server is back', async () => {
    const { bob } = annotators;
    const item = await shown(bob);
    const sentBefore = bob.sent.length;
    const dead = server as ChildProcess;
    const exited = new Promise((resolve) => dead.once('exit', resolve));
    dead.kill('SIGKILL');
    await exited;
    server = null;

    // Decided while the server is down: the page says it is reconnecting and keeps trying.
    await press(bob, '2', 'w', 'Enter');
    await bob.page.getByTestId('rating-reconnecting').waitFor();
    expect(await text(bob, 'rating-reconnecting')).toContain('Reconnecting');
    expect(await bob.page.getByTestId('rating-submit').isDisabled()).toBe(true);
    // Nothing else can be decided meanwhile: a skip and an undo wait.
    await press(bob, 'k', 'Backspace');
    await bob.page.waitForTimeout(1500);
    expect(await shown(bob)).toBe(item);

    const oldUrl = url;
    await serve(['--port', String(port)]);
    expect(url, 'the server came back on the same port, where the page is retrying').toBe(oldUrl);
    // The same page, not reloaded: the retry lands, the banner goes, the next item comes.
    const next = await nextItem(bob, item);
    expect(next).not.toBe(item);
    await bob.page.getByTestId('rating-reconnecting').waitFor({ state: 'detached' });
    bob.decisions.set(item, expected({ helpful: 'right', safe: 'right' }));
    expect(await text(bob, 'rating-queue')).toBe('3 / 6');

    // Every try carried the same answer under the same key; only submits were sent (no skip, no undo).
    const tries = bob.sent
      .slice(sentBefore)
      .map((body) => JSON.parse(body) as { assignmentId: number; idempotencyKey?: string });
    expect(tries.length).toBeGreaterThan(1);
    expect(new Set(tries.map((t) => JSON.stringify(t))).size).toBe(1);
    expect(tries[0]).toMatchObject({ assignmentId: item, idempotencyKey: expect.stringMatching(/^[0-9a-f]{32}$/) });

    // Stored once, as given; its key once.
    const stored = storedRatings();
    expect(stored.get(item)).toMatchObject({ annotator: bob.id, helpful: 'right', safe: 'right', skipped: false });
    const db = new Database(join(projectDir, 'studio.db'), { readonly: true });
    try {
      const keys = db
        .prepare('SELECT assignment_id FROM submit_keys WHERE key = ?')
        .all(tries[0]?.idempotencyKey) as Array<{ assignment_id: number }>;
      expect(keys).toEqual([{ assignment_id: item }]);
      const edits = db.prepare('SELECT edits FROM ratings WHERE assignment_id = ?').get(item) as { edits: number };
      expect(edits.edits).toBe(0);
    } finally {
      db.close();
    }
    // The browser reports each refused connection as a console error; nothing else went wrong.
    expect(
      bob.consoleErrors.filter((e) => !/net::ERR_CONNECTION_REFUSED|net::ERR_EMPTY_RESPONSE|Failed to fetch/.test(e)),
    ).toEqual([]);
  });

  it('lets the owner rate on the Rate screen as an annotator they choose or create', async () => {
    const { page, consoleErrors } = await watchedPage(browser as Browser);
    await page.goto(`${url}#token=${ownerToken}`);
    await page.getByTestId('nav-rate').click();
    await page.getByTestId('rate-chooser').waitFor();
    expect(await page.getByTestId('rate-campaign').inputValue()).toBe(C);
    await page.getByTestId('rate-new-name').fill('carol');
    await page.getByTestId('rate-start').click();
    await page.getByTestId('rating-item').waitFor();
    expect((await page.getByTestId('rating-annotator').innerText()).trim()).toBe('carol');
    const first = Number(await page.getByTestId('rating-item').getAttribute('data-assignment'));
    await page.keyboard.press('g');
    await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
    await page.keyboard.press('2');
    await page.keyboard.press('e');
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="rating-item"]:not([data-assignment="${first}"])`).waitFor();
    expect((await page.getByTestId('rating-count').innerText()).trim()).toBe('1');

    // A look at another screen keeps the session; the answer given meanwhile is still there.
    await page.keyboard.press('1');
    await page.getByTestId('nav-data').click();
    await page.getByTestId('nav-rate').click();
    await page.getByTestId('rating-item').waitFor();
    expect(await page.getByTestId('answer-helpful-left').getAttribute('aria-pressed')).toBe('true');

    const carol = storedRatings().get(first);
    expect(carol).toMatchObject({ helpful: 'right', safe: 'both_good', skipped: false });
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });
});
