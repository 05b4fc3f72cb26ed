/**
 * `npm run bench` (tsx bench/rating.bench.ts): how fast the rating screen moves on a big campaign,
 * figures only (no assertions on time).
 *
 * The project: a real campaign (campaignProject: the demo data, two tiny models, sampled
 * responses), grown by direct SQL inserts to BENCH_ITEMS pair items (default 40,000) with overlap
 * 3, rated by 10 annotators: BENCH_RATINGS ratings (default 100,000) in all, ~10,000 each, with
 * strengths, a few rationales, flags and skips, timestamps spread over weeks.
 *
 * - Server side: rating.submit through the backend's dispatch (what the HTTP server calls), median
 *   and p95 over 100 decisions of an annotator with ~10,000 ratings, and where its time goes
 *   (each SQL statement it runs, timed), with EXPLAIN QUERY PLAN of the costliest.
 * - In Chromium, against the real server (out/main/server.js) on that project: an annotator's link
 *   answers both questions and presses Enter, BENCH_DECISIONS times (default 50); the time from
 *   the Enter keydown (its event timestamp) to the next item in the DOM, and to the first frame
 *   painted after it (requestAnimationFrame, then a task), median and p95, against the 50 ms
 *   target; and the rating.submit round trip as the page's Resource Timing saw it.
 *
 * BENCH_KEEP=1 keeps the project folder, to look at its query plans.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Backend } from '../src/main/app/backend';
import { call, openBackend } from '../test/helpers/backend';
import { campaignProject } from '../test/helpers/campaign';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 40_000);
const RATINGS = Number(process.env.BENCH_RATINGS ?? 100_000);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 50);
const ANNOTATORS = 10;
const OVERLAP = 3;
const TARGET_MS = 50;
const C = 'bench';
const root = fileURLToPath(new URL('..', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const line = (label: string, xs: number[], target = true): string =>
  `${label.padEnd(44)} median ${ms(quantile(xs, 0.5)).padStart(9)}   p95 ${ms(quantile(xs, 0.95)).padStart(9)}   max ${ms(Math.max(...xs)).padStart(9)}` +
  (target ? `   (target ${TARGET_MS} ms: p95 ${quantile(xs, 0.95) <= TARGET_MS ? 'within' : 'OVER'})` : '');

// ---------------------------------------------------------------------------------------------
// SQL timing: every statement prepared from here on reports the time of each run/get/all, by its text.

const sqlTime = new Map<string, { calls: number; ms: number }>();
let timing = false;
{
  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: Database.Database, source: string) {
    const statement = prepare.call(this, source) as Database.Statement;
    for (const method of ['run', 'get', 'all'] as const) {
      const original = statement[method] as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        if (!timing) return original.apply(statement, args);
        const t0 = performance.now();
        try {
          return original.apply(statement, args);
        } finally {
          const entry = sqlTime.get(source) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - t0;
          sqlTime.set(source, entry);
        }
      };
    }
    return statement;
  } as typeof Database.prototype.prepare;
}

// ---------------------------------------------------------------------------------------------
// The project

interface Fixture {
  tokens: string[];
  ids: number[];
}

/** Grows the campaign to ITEMS items and RATINGS ratings by ANNOTATORS annotators, in one transaction. */
async function grow(backend: Backend): Promise<Fixture> {
  const tokens: string[] = [];
  const ids: number[] = [];
  for (let i = 0; i < ANNOTATORS; i++) {
    const added = await call(backend, 'annotators.add', {
      campaign: C,
      name: `annotator-${String(i + 1).padStart(2, '0')}`,
      link: true,
    });
    tokens.push(added.token ?? '');
    ids.push(added.annotator.id);
  }
  const db = backend.db;
  const campaign = db.prepare('SELECT id, guidelines_version FROM campaigns WHERE name = ?').get(C) as {
    id: number;
    guidelines_version: string;
  };
  const seeds = db
    .prepare(
      "SELECT prompt, first_sample, second_sample, first_system, second_system FROM items WHERE campaign_id = ? AND kind = 'pair'",
    )
    .all(campaign.id) as Array<{
    prompt: string;
    first_sample: number;
    second_sample: number;
    first_system: string;
    second_system: string;
  }>;
  const maxRank =
    (db.prepare('SELECT max(rank) FROM items WHERE campaign_id = ?').pluck().get(campaign.id) as number | null) ?? 0;
  const insertItem = db.prepare(
    `INSERT INTO items (campaign_id, kind, prompt, first_sample, second_sample, first_system, second_system, reveals, rank, assigned, open)
     VALUES (?, 'pair', ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
  );
  const insertAssignment = db.prepare(
    'INSERT INTO assignments (campaign_id, item_id, annotator_id, swapped, want_repeat, rated, created_at) VALUES (?, ?, ?, ?, 0, 1, ?)',
  );
  const insertRating = db.prepare(
    `INSERT INTO ratings (assignment_id, campaign_id, annotator_id, helpful, safe, helpful_strength, safe_strength, rationale, flag, flag_note,
                          skipped, swapped, active_ms, guidelines_version, source, edits, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'studio', 0, ?, ?)`,
  );
  const verdicts = ['first', 'second', 'both_good', 'both_bad'] as const;
  const strengths = [null, 'slight', 'clear', 'strong'] as const;
  let state = 12345;
  const rand = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const start = Date.now() - 30 * 24 * 3600 * 1000;
  let ratings = 0;
  let stamp = 0;
  db.transaction(() => {
    for (let i = 0; i < ITEMS; i++) {
      const seed = seeds[i % seeds.length] as (typeof seeds)[number];
      const raters = Math.min(OVERLAP, Math.max(0, RATINGS - ratings));
      const skips = Array.from({ length: raters }, () => (rand(50) === 0 ? 1 : 0));
      // As refreshItem keeps them: live (not skipped) assignments, and open while fewer than the
      // overlap, counting the skips (first answers, so each is to come back to its annotator).
      const live = skips.filter((skip) => skip === 0).length;
      const itemId = Number(
        insertItem.run(
          campaign.id,
          `${seed.prompt} (variant ${i})`,
          seed.first_sample,
          seed.second_sample,
          seed.first_system,
          seed.second_system,
          maxRank + 1 + i,
          live,
          raters < OVERLAP ? 1 : 0,
        ).lastInsertRowid,
      );
      for (let k = 0; k < raters; k++) {
        const annotator = ids[(i + k) % ANNOTATORS] as number;
        const swapped = rand(2);
        const at = new Date(start + stamp++ * 20_000).toISOString();
        const assignment = Number(insertAssignment.run(campaign.id, itemId, annotator, swapped, at).lastInsertRowid);
        const skipped = skips[k] as number;
        const flagged = !skipped && rand(40) === 0;
        insertRating.run(
          assignment,
          campaign.id,
          annotator,
          skipped ? null : verdicts[rand(4)],
          skipped ? null : verdicts[rand(4)],
          skipped ? null : strengths[rand(4)],
          skipped ? null : strengths[rand(4)],
          rand(10) === 0 ? 'the second one hedges too much' : '',
          flagged ? 'truncated' : null,
          flagged ? 'ends mid-sentence' : '',
          skipped,
          swapped,
          4000 + rand(40_000),
          campaign.guidelines_version,
          at,
          at,
        );
        ratings++;
      }
    }
  })();
  return { tokens, ids };
}

// ---------------------------------------------------------------------------------------------
// The server and the browser

async function startServer(projectDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(root, 'out/main/server.js'), '--project', projectDir, '--port', '0', '--no-open', '--json', '--campaign', C],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      try {
        const parsed = JSON.parse(text) as { event?: string; url?: string };
        if (parsed.event === 'listening' && parsed.url) resolve(parsed.url);
      } catch {
        // not the listening line
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, url };
}

/** rating.submit round trips from Node over the loopback, as an annotator's link makes them (the server fills in who). */
async function httpBench(url: string, token: string): Promise<number[]> {
  const post = async (
    method: string,
    input: unknown,
  ): Promise<{ item?: { assignmentId: number } | null; next?: { assignmentId: number } | null }> => {
    const response = await fetch(new URL(`/api/call/${method}`, url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(input),
    });
    if (!response.ok) throw new Error(`${method}: ${response.status} ${await response.text()}`);
    return (await response.json()) as {
      item?: { assignmentId: number } | null;
      next?: { assignmentId: number } | null;
    };
  };
  let item = (await post('rating.next', {})).item ?? null;
  const times: number[] = [];
  for (let i = 0; i < 103 && item; i++) {
    const t = performance.now();
    item =
      (
        await post('rating.submit', {
          assignmentId: item.assignmentId,
          helpful: 'left',
          safe: 'both_good',
          activeMs: 5000,
        })
      ).next ?? null;
    if (i >= 3) times.push(performance.now() - t);
  }
  return times;
}

/** In the page: Enter's keydown time, and when the next item reaches the DOM and the screen. */
const INSTRUMENT = `
  window.__marks = [];
  window.__t0 = null;
  window.addEventListener('keydown', (e) => { if (e.key === 'Enter') window.__t0 = e.timeStamp; }, true);
  const current = () => document.querySelector('[data-testid="rating-item"]')?.getAttribute('data-assignment') ?? null;
  window.__last = current();
  new MutationObserver(() => {
    const id = current();
    if (window.__t0 === null || id === null || id === window.__last) return;
    const t0 = window.__t0;
    window.__t0 = null;
    window.__last = id;
    const dom = performance.now() - t0;
    requestAnimationFrame(() => setTimeout(() => window.__marks.push({ dom, paint: performance.now() - t0 })));
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-assignment'] });
`;

async function browserBench(url: string, token: string): Promise<{ dom: number[]; paint: number[]; fetch: number[] }> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${url}#rate=${token}`);
    await page.getByTestId('rating-item').waitFor();
    if (await page.getByTestId('rating-guidelines').count()) await page.keyboard.press('g');
    // Warm-up decisions, not counted: the first call of each kind compiles and fills caches.
    for (let i = 0; i < 3; i++) {
      const before = await page.getByTestId('rating-item').getAttribute('data-assignment');
      await page.keyboard.press('1');
      await page.keyboard.press('q');
      await page.keyboard.press('Enter');
      await page.locator(`[data-testid="rating-item"]:not([data-assignment="${before}"])`).waitFor();
    }
    await page.evaluate(INSTRUMENT);
    await page.evaluate('performance.clearResourceTimings()');
    for (let i = 0; i < DECISIONS; i++) {
      await page.keyboard.press(String(1 + (i % 4)));
      await page.keyboard.press('qwer'[(i * 3) % 4] as string);
      await page.keyboard.press('Enter');
      // A function, not a string: the page's CSP forbids the eval a string predicate needs.
      await page.waitForFunction((n) => (globalThis as unknown as { __marks: unknown[] }).__marks.length >= n, i + 1);
    }
    const marks = (await page.evaluate('window.__marks')) as Array<{ dom: number; paint: number }>;
    const fetches = (await page.evaluate(
      `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/call/rating.submit')).map((e) => e.duration)`,
    )) as number[];
    return { dom: marks.map((m) => m.dom), paint: marks.map((m) => m.paint), fetch: fetches };
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const file of ['out/main/server.js', 'out/main/job.js', 'out/renderer/index.html']) {
    if (!existsSync(join(root, file))) throw new Error(`${file} is missing: run npm run build first`);
  }
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (set CHROMIUM_PATH)`);
  const dir = mkdtempSync(join(tmpdir(), 'alol-bench-rating-'));
  let server: ChildProcess | null = null;
  try {
    console.log(
      `Rating screen on a campaign of ${ITEMS.toLocaleString('en-US')} items, ${RATINGS.toLocaleString('en-US')} ratings by ${ANNOTATORS} annotators (overlap ${OVERLAP})`,
    );
    let t0 = performance.now();
    const backend = openBackend(dir);
    await campaignProject(backend, { name: C, overlap: OVERLAP });
    console.log(
      `  campaign made (demo data, 2 tiny models, sampled responses): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    t0 = performance.now();
    const { tokens, ids } = await grow(backend);
    const counts = backend.db
      .prepare(
        'SELECT (SELECT count(*) FROM items) AS items, (SELECT count(*) FROM assignments) AS assignments, (SELECT count(*) FROM ratings) AS ratings',
      )
      .get() as Record<string, number>;
    console.log(
      `  grown by SQL in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${counts.items} items, ${counts.assignments} assignments, ${counts.ratings} ratings`,
    );

    // Server side: the backend's own dispatch, as the HTTP server calls it, for annotator 2.
    const who = { campaign: C, annotator: ids[1] as number };
    const submits: number[] = [];
    const nexts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const item = (await call(backend, 'rating.next', who)).item!;
      await call(backend, 'rating.submit', {
        ...who,
        assignmentId: item.assignmentId,
        helpful: 'left',
        safe: 'right',
        activeMs: 5000,
      });
    }
    timing = true;
    for (let i = 0; i < 100; i++) {
      let t = performance.now();
      const item = (await call(backend, 'rating.next', who)).item!;
      nexts.push(performance.now() - t);
      t = performance.now();
      await call(backend, 'rating.submit', {
        ...who,
        assignmentId: item.assignmentId,
        helpful: i % 2 ? 'left' : 'both_good',
        safe: 'right',
        helpfulStrength: i % 2 ? 'clear' : undefined,
        activeMs: 5000,
      });
      submits.push(performance.now() - t);
    }
    timing = false;
    // The campaign's progress as the rating screen gets it, beside the owner's count (a join of every rating).
    const progress = (await call(backend, 'rating.next', who)).progress.campaign;
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    console.log(
      `  campaign progress: ${progress.done} / ${progress.target} on the rating screen, ${summary.done} / ${summary.target} in campaigns.get`,
    );
    console.log('\nServer side (backend dispatch, in process; 100 decisions by an annotator with ~10,000 ratings):');
    console.log(line('rating.submit (commit + next item + progress)', submits));
    console.log(line('rating.next (the held item + progress)', nexts, false));
    const totalSql = [...sqlTime.values()].reduce((a, b) => a + b.ms, 0);
    console.log(`  SQL statements, by time spent (all 200 calls; ${ms(totalSql)} in all):`);
    const ranked = [...sqlTime.entries()].sort((a, b) => b[1].ms - a[1].ms);
    for (const [source, { calls, ms: spent }] of ranked.slice(0, 8)) {
      console.log(
        `    ${ms(spent / calls).padStart(9)} x ${String(calls).padStart(3)}  ${source.replace(/\s+/g, ' ').slice(0, 110)}`,
      );
    }
    console.log('  EXPLAIN QUERY PLAN of the three costliest:');
    for (const [source] of ranked.slice(0, 3)) {
      const params = (source.match(/\?/g) ?? []).map(() => 1);
      const named = Object.fromEntries([...source.matchAll(/@(\w+)/g)].map((m) => [m[1], 1]));
      const plan = backend.db
        .prepare(`EXPLAIN QUERY PLAN ${source}`)
        .all(...(Object.keys(named).length ? [named] : params)) as Array<{ detail: string }>;
      console.log(`    ${source.replace(/\s+/g, ' ').slice(0, 90)}…`);
      for (const step of plan) console.log(`      ${step.detail}`);
    }
    backend.close();

    // The browser against the real server: annotator 1, who has ~10,000 ratings already.
    const started = await startServer(dir);
    server = started.child;
    const http = await httpBench(started.url, tokens[2] as string);
    console.log(
      '\nThe real server over HTTP from Node, no browser (100 decisions by another annotator with ~10,000 ratings):',
    );
    console.log(line('rating.submit round trip', http, false));
    const { dom, paint, fetch } = await browserBench(started.url, tokens[0] as string);
    console.log(
      `\nChromium, keyboard: answer both questions, Enter, next item (${DECISIONS} decisions after 3 warm-up):`,
    );
    console.log(line('Enter keydown -> next item in the DOM', dom));
    console.log(line('Enter keydown -> next item painted', paint));
    console.log(line('rating.submit round trip (Resource Timing)', fetch, false));
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    if (process.env.BENCH_KEEP === '1') console.log(`\n(project kept: ${dir})`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
