/**
 * `tsx bench/itemBrowser.bench.ts` (after `npx electron-vite build`): how fast campaigns.browse
 * answers on a big campaign, figures only (no assertions on time).
 *
 * The project: a real campaign (campaignProject), grown by direct SQL inserts to BENCH_ITEMS pair
 * items (default 40,000) with 100,000 ratings (BENCH_RATINGS) by 10 annotators, overlap 3, a few
 * rationales, flags and skips. Each filter's first page (50 items with their ratings) through the
 * backend's dispatch, median and max of 5 calls, and the query plan of its count. BENCH_KEEP=1
 * keeps the project folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Input } from '../src/shared/contract';
import { itemWhere } from '../src/main/rating/itemBrowser';
import { call, openBackend } from '../test/helpers/backend';
import { campaignProject } from '../test/helpers/campaign';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 40_000);
const RATINGS = Number(process.env.BENCH_RATINGS ?? 100_000);
const ANNOTATORS = 10;
const OVERLAP = 3;
const C = 'bench-browse';

const dir = mkdtempSync(join(tmpdir(), 'alol-bench-browse-'));
const backend = openBackend(dir);
try {
  await campaignProject(backend, { name: C, overlap: OVERLAP });
  const ids: number[] = [];
  for (let i = 0; i < ANNOTATORS; i++)
    ids.push(
      (await call(backend, 'annotators.add', { campaign: C, name: `annotator-${i + 1}`, link: false })).annotator.id,
    );
  const db = backend.db;
  const campaign = db.prepare('SELECT id, guidelines_version FROM campaigns WHERE name = ?').get(C) as {
    id: number;
    guidelines_version: string;
  };
  const seed = db
    .prepare(
      "SELECT prompt, first_sample, second_sample, first_system, second_system FROM items WHERE campaign_id = ? AND kind = 'pair' LIMIT 1",
    )
    .get(campaign.id) as {
    prompt: string;
    first_sample: number;
    second_sample: number;
    first_system: string;
    second_system: string;
  };
  const insertItem = db.prepare(
    "INSERT INTO items (campaign_id, kind, prompt, first_sample, second_sample, first_system, second_system, reveals, rank, assigned, open) VALUES (?, 'pair', ?, ?, ?, ?, ?, 0, ?, 3, 0)",
  );
  const insertAssignment = db.prepare(
    'INSERT INTO assignments (campaign_id, item_id, annotator_id, swapped, want_repeat, rated, created_at) VALUES (?, ?, ?, ?, 0, 1, ?)',
  );
  const insertRating = db.prepare(
    `INSERT INTO ratings (assignment_id, campaign_id, annotator_id, helpful, safe, rationale, flag, flag_note, skipped, swapped, active_ms, guidelines_version, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 5000, ?, ?, ?)`,
  );
  const verdicts = ['first', 'second', 'both_good', 'both_bad'] as const;
  let state = 7;
  const rand = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  let t0 = performance.now();
  let ratings = 0;
  db.transaction(() => {
    for (let i = 0; i < ITEMS; i++) {
      const item = Number(
        insertItem.run(
          campaign.id,
          `${seed.prompt} (${i})`,
          seed.first_sample,
          seed.second_sample,
          seed.first_system,
          seed.second_system,
          1000 + i,
        ).lastInsertRowid,
      );
      for (let k = 0; k < OVERLAP && ratings < RATINGS; k++, ratings++) {
        const at = new Date(1_700_000_000_000 + ratings * 1000).toISOString();
        const assignment = Number(
          insertAssignment.run(campaign.id, item, ids[(i + k) % ANNOTATORS] as number, rand(2), at).lastInsertRowid,
        );
        const skipped = rand(50) === 0 ? 1 : 0;
        const flagged = !skipped && rand(40) === 0;
        insertRating.run(
          assignment,
          campaign.id,
          ids[(i + k) % ANNOTATORS] as number,
          skipped ? null : verdicts[rand(4)],
          skipped ? null : verdicts[rand(4)],
          rand(10) === 0 ? 'the second one hedges' : '',
          flagged ? 'truncated' : null,
          flagged ? 'ends mid-sentence' : '',
          skipped,
          rand(2),
          campaign.guidelines_version,
          at,
          at,
        );
      }
    }
  })();
  console.log(
    `campaigns.browse on ${ITEMS.toLocaleString('en-US')} items and ${ratings.toLocaleString('en-US')} ratings (grown in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const filters: Array<[string, Omit<Input<'campaigns.browse'>, 'campaign'>]> = [
    ['no filter', {}],
    ['flagged', { flagged: true }],
    ['skipped', { skipped: true }],
    ['annotator', { annotator: 'annotator-3' }],
    ['disagreement (either)', { disagreement: 'any' }],
    ['disagreement (helpful) + annotator', { disagreement: 'helpful', annotator: 'annotator-3' }],
    [
      'pair + outcome (a win on helpful)',
      { systems: [seed.first_system, seed.second_system], outcome: { criterion: 'helpful', result: 'a' } },
    ],
    ['flagged, last page', { flagged: true, offset: 2400 }],
    ['no filter, page 800', { offset: 40_000 - 50 }],
  ];
  for (const [label, filter] of filters) {
    const times: number[] = [];
    let total = 0;
    for (let r = 0; r < 5; r++) {
      t0 = performance.now();
      total = (await call(backend, 'campaigns.browse', { campaign: C, limit: 50, ...filter })).total;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  ${label.padEnd(38)} ${String(total).padStart(6)} items   median ${(times[2] as number).toFixed(1).padStart(6)} ms   max ${(times[4] as number).toFixed(1).padStart(6)} ms`,
    );
  }
  const where = itemWhere(campaign.id, { disagreement: 'any', flagged: true }, null);
  console.log('\nEXPLAIN QUERY PLAN of the count with flagged + disagreement:');
  for (const step of db
    .prepare(`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM items i WHERE ${where.sql}`)
    .all(...where.params) as Array<{ detail: string }>)
    console.log(`  ${step.detail}`);
} finally {
  backend.close();
  if (process.env.BENCH_KEEP === '1') console.log(`(project kept: ${dir})`);
  else rmSync(dir, { recursive: true, force: true });
}
