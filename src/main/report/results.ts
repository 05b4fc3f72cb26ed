/**
 * A campaign's results (or every campaign's, pooled) from the database, with the statistics of
 * winRates.ts, bradleyTerry.ts, metrics.ts and the rating module; nothing is estimated here that
 * those do not already define.
 *
 * Comparisons are the ratings that count as evidence (storedRatings.ts: answered first ratings of
 * pair items). Per criterion, each is one game between the item's first and second system, decided
 * by the canonical verdict: 'first' -> the first system wins, 'second' -> the second, 'both_good'
 * and 'both_bad' -> a tie (half a win each, as in the win rates and in Bradley-Terry), also counted
 * apart as both good / both bad, which the tie hides.
 *
 *   // 2 systems, helpful verdicts first, first, both_good, second (a first each time):
 *   // pairs: [{ a, b, wins: 2, ties: 1, losses: 1, bothGood: 1, bothBad: 0, n: 4, winRate: 0.625, ... }]
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/openDb';
import { isDataSystem, isSampleSet } from '../../shared/contract';
import { datasetAgreement } from '../rating/datasetAgreement';
import { criteria, type Criterion, type Verdict } from '../../shared/rating';
import type {
  CriterionResults,
  CurveSeries,
  ModelResults,
  Results,
  ResultsRequest,
  RewardDistribution,
  RunCurves,
} from '../../shared/results';
import { CampaignStore, pairSystems } from '../rating/campaignStore';
import { evidence, storedRatings, type StoredRating } from '../rating/storedRatings';
import { agreementSummaries } from '../rating/agreementSummaries';
import { RunStore } from '../alol/runStore';
import { winTieLoss, type PairOutcome } from '../stats/winRates';
import { bradleyTerry, pairedBootstrap, type GameOutcome, type UnitGame } from '../stats/bradleyTerry';
import { distinctN, lengthInWords, mean, sampleSd } from './metrics';
import { clean, niceStep } from '../../shared/chartMath';

/** One rating of a pair item: the item (the bootstrap's unit), its systems in canonical order and the verdict per criterion. */
export interface Comparison {
  item: number;
  first: string;
  second: string;
  helpful: Verdict;
  safe: Verdict;
}

/** The game a canonical verdict decides: a is the first system, b the second. */
export function verdictOutcome(verdict: Verdict): GameOutcome {
  return verdict === 'first' ? 'a' : verdict === 'second' ? 'b' : 'tie';
}

/** Speeds are logged per step but are no training curve. */
const NOT_CURVES = new Set(['tokens_per_second']);
/** At most this many points per curve: longer runs are averaged over consecutive steps. */
export const MAX_CURVE_POINTS = 300;
/** About this many histogram bins per reward, on round edges. */
const BINS = 10;

/**
 * Win/tie/loss (ties split into both good and both bad) of every pair (a before b in `systems`), the
 * leaderboard and whether it was regularised, for one criterion. One bootstrap over rated items
 * gives both the pairs' win-rate intervals and the leaderboard's, and ranks follow the pairs.
 */
export function criterionResults(
  systems: readonly string[],
  comparisons: readonly Comparison[],
  criterion: Criterion,
  boot: { seed: number; reps: number },
): CriterionResults {
  const games: UnitGame[] = comparisons.map((c) => ({
    a: c.first,
    b: c.second,
    outcome: verdictOutcome(c[criterion]),
    unit: c.item,
  }));
  const played = new Map<string, number>();
  for (const g of games) for (const s of [g.a, g.b]) played.set(s, (played.get(s) ?? 0) + 1);
  const ranked = systems.filter((s) => played.has(s));
  const paired = games.length === 0 ? null : pairedBootstrap(ranked, games, { seed: boot.seed, reps: boot.reps });
  const pairs: CriterionResults['pairs'] = [];
  for (let i = 0; i < systems.length; i++) {
    for (let j = i + 1; j < systems.length; j++) {
      const a = systems[i] as string;
      const b = systems[j] as string;
      const outcomes: PairOutcome[] = [];
      let bothGood = 0;
      let bothBad = 0;
      for (const c of comparisons) {
        const verdict = c[criterion];
        if (c.first === a && c.second === b) outcomes.push(verdictOutcome(verdict));
        else if (c.first === b && c.second === a)
          outcomes.push(verdict === 'first' ? 'b' : verdict === 'second' ? 'a' : 'tie');
        else continue;
        if (verdict === 'both_good') bothGood += 1;
        else if (verdict === 'both_bad') bothBad += 1;
      }
      const { wins, ties, losses, n, winRate } = winTieLoss(outcomes);
      // `ranked` keeps `systems`' order, so the bootstrap's pair has the same a and b.
      const interval = paired?.pairs.find((p) => p.a === a && p.b === b);
      const ci = { estimate: winRate, low: interval?.low ?? null, high: interval?.high ?? null };
      pairs.push({
        a,
        b,
        wins,
        ties,
        losses,
        bothGood,
        bothBad,
        n,
        winRate,
        bothGoodRate: n === 0 ? null : bothGood / n,
        bothBadRate: n === 0 ? null : bothBad / n,
        ci,
        ahead: interval?.ahead ?? null,
      });
    }
  }
  const leaderboard = (paired?.leaderboard ?? []).map((r) => ({ ...r, games: played.get(r.system) ?? 0 }));
  return {
    criterion,
    comparisons: games.length,
    pairs,
    leaderboard,
    regularised: games.length > 0 && bradleyTerry(ranked, games).regularised,
  };
}

/** Round bin edges spanning every value: about BINS bins of a 1-2-5 width. */
export function binEdges(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) {
    const pad = min === 0 ? 0.5 : Math.abs(min) * 0.05;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, BINS);
  const lo = clean(Math.floor(min / step) * step);
  const count = Math.max(1, Math.ceil(clean((max - lo) / step)));
  return Array.from({ length: count + 1 }, (_, k) => clean(lo + k * step));
}

/** Counts per bin [edge_k, edge_k+1), the last bin closed on the right. */
export function histogram(
  values: readonly number[],
  edges: readonly number[],
): { low: number; high: number; count: number }[] {
  const bins = edges.slice(0, -1).map((low, k) => ({ low, high: edges[k + 1] as number, count: 0 }));
  const lo = edges[0];
  const step = edges.length > 1 ? (edges[1] as number) - (lo as number) : 0;
  if (bins.length === 0 || lo === undefined) return bins;
  for (const v of values) {
    const k = Math.min(bins.length - 1, Math.max(0, Math.floor((v - lo) / step + 1e-9)));
    (bins[k] as { count: number }).count += 1;
  }
  return bins;
}

/** Averages consecutive points down to at most `max`, each at the last step of its group. */
export function decimate(
  steps: readonly number[],
  values: readonly number[],
  max = MAX_CURVE_POINTS,
): { steps: number[]; values: number[] } {
  if (steps.length <= max) return { steps: [...steps], values: [...values] };
  const size = Math.ceil(steps.length / max);
  const out = { steps: [] as number[], values: [] as number[] };
  for (let i = 0; i < steps.length; i += size) {
    const group = values.slice(i, i + size);
    out.steps.push(steps[Math.min(steps.length, i + size) - 1] as number);
    out.values.push(mean(group));
  }
  return out;
}

interface SampleRow {
  response: string;
  rewards: string | null;
}

function modelResults(db: Db, models: readonly string[]): ModelResults[] {
  const query = db.prepare<[string], SampleRow>(
    'SELECT s.response, s.rewards FROM samples s JOIN models m ON m.id = s.model_id WHERE m.name = ? ORDER BY s.id',
  );
  // A sample set (a campaign system named sample:JOB) is its own responses, not its model's.
  const bySource = db.prepare<[string], SampleRow>(
    'SELECT response, rewards FROM samples WHERE source = ? ORDER BY id',
  );
  const perModel = models.map((model) => {
    const rows = isSampleSet(model) || isDataSystem(model) ? bySource.all(model) : query.all(model);
    const rewards = new Map<string, number[]>();
    for (const row of rows) {
      if (row.rewards === null) continue;
      for (const [name, value] of Object.entries(JSON.parse(row.rewards) as Record<string, unknown>)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        const list = rewards.get(name);
        if (list) list.push(value);
        else rewards.set(name, [value]);
      }
    }
    return { model, texts: rows.map((r) => r.response), rewards };
  });
  // One set of edges per reward over every model, so their histograms line up.
  const edges = new Map<string, number[]>();
  for (const name of new Set(perModel.flatMap((m) => [...m.rewards.keys()]))) {
    edges.set(name, binEdges(perModel.flatMap((m) => m.rewards.get(name) ?? [])));
  }
  return perModel.map(({ model, texts, rewards }) => {
    const lengths = texts.map(lengthInWords);
    const distributions: RewardDistribution[] = [...rewards.keys()].sort().map((name) => {
      const values = rewards.get(name) as number[];
      return {
        name,
        n: values.length,
        mean: mean(values),
        sd: sampleSd(values),
        bins: histogram(values, edges.get(name) as number[]),
      };
    });
    return {
      model,
      samples: texts.length,
      rewards: distributions,
      distinct1: distinctN(texts, 1),
      distinct2: distinctN(texts, 2),
      distinct3: distinctN(texts, 3),
      meanLength: lengths.length === 0 ? null : mean(lengths),
      sdLength: sampleSd(lengths),
    };
  });
}

function runCurves(runs: RunStore, outModels: ReadonlySet<string> | null): RunCurves[] {
  const out: RunCurves[] = [];
  for (const run of [...runs.list()].sort((a, b) => a.id - b.id)) {
    if (outModels !== null && !outModels.has(run.outModel)) continue;
    const series = new Map<string, { steps: number[]; values: number[] }>();
    for (const { step, metrics } of runs.metrics(run.id)) {
      for (const [name, value] of Object.entries(metrics)) {
        if (NOT_CURVES.has(name)) continue;
        const s = series.get(name) ?? { steps: [], values: [] };
        s.steps.push(step);
        s.values.push(value);
        series.set(name, s);
      }
    }
    if (series.size === 0) continue;
    const names = [...series.keys()].sort((a, b) =>
      a === 'loss' ? -1 : b === 'loss' ? 1 : a < b ? -1 : a > b ? 1 : 0,
    );
    const metrics: CurveSeries[] = names.map((name) => {
      const s = series.get(name) as { steps: number[]; values: number[] };
      return { name, ...decimate(s.steps, s.values) };
    });
    out.push({
      runId: run.id,
      algo: run.algo,
      outModel: run.outModel,
      status: run.status,
      step: run.step,
      totalSteps: run.totalSteps,
      metrics,
    });
  }
  return out;
}

/**
 * Results of one campaign, or of every campaign pooled when none is named. Pooled, the systems are
 * every campaign's in order of first appearance, and the models also every other model with
 * samples; the runs are then every run with metrics (for one campaign: the runs that trained its systems).
 */
/**
 * The bootstraps are the slow part (about 0.7 s per criterion at 8,000 ratings) and run in the
 * server's thread, where annotators' answers wait behind them; results of the same ratings are the
 * same, so the last few are kept (per database).
 */
const caches = new WeakMap<Db, Map<string, unknown>>();
function remembered<T>(db: Db, key: unknown[], compute: () => T): T {
  const cache = caches.get(db) ?? new Map<string, unknown>();
  caches.set(db, cache);
  const digest = createHash('sha1').update(JSON.stringify(key)).digest('base64');
  if (cache.has(digest)) return cache.get(digest) as T;
  const value = compute();
  cache.set(digest, value);
  if (cache.size > 16) cache.delete(cache.keys().next().value as string);
  return value;
}

export function campaignResults(db: Db, request: ResultsRequest): Results {
  const store = new CampaignStore(db);
  const chosen = (request.campaign === undefined ? store.rows() : [store.get(request.campaign)]).map((c) => ({
    id: c.id,
    name: c.name,
    systems: c.config.systems,
    ratings: storedRatings(db, c.id),
    relabelled: c.config.kind === 'pairs' ? c.config.prompts.dataset : null,
  }));
  const systems = [...new Set(chosen.flatMap((c) => c.systems))];
  const comparisons: Comparison[] = chosen.flatMap((c) =>
    evidence(c.ratings).map((r) => ({
      item: r.item,
      first: r.first.system,
      second: r.second.system,
      helpful: r.helpful,
      safe: r.safe,
    })),
  );
  const boot = { seed: request.seed, reps: request.reps };
  // What agreement depends on: every rating's last change shows in the count, the latest time or the edits.
  const ratingsState = (ratings: readonly StoredRating[]) => [
    ratings.length,
    ratings.reduce((latest, r) => (r.updatedAt > latest ? r.updatedAt : latest), ''),
    ratings.reduce((n, r) => n + r.edits, 0),
  ];
  let models = systems;
  if (request.campaign === undefined) {
    const sampled = db
      .prepare<[], string>(
        'SELECT m.name FROM models m WHERE EXISTS (SELECT 1 FROM samples s WHERE s.model_id = m.id) ORDER BY m.id',
      )
      .pluck()
      .all();
    models = [...systems, ...sampled.filter((m) => !systems.includes(m))];
  }
  return {
    campaign: request.campaign ?? null,
    campaigns: chosen.map((c) => c.name),
    systems,
    seed: request.seed,
    reps: request.reps,
    criteria: criteria.map((criterion) =>
      remembered(db, ['criterion', systems, comparisons, criterion, boot], () =>
        criterionResults(systems, comparisons, criterion, boot),
      ),
    ),
    agreement: chosen.map((c) => ({
      campaign: c.name,
      criteria: remembered(db, ['agreement', c.id, ratingsState(c.ratings), boot], () =>
        agreementSummaries(c.ratings, boot),
      ),
    })),
    datasetAgreement: chosen.flatMap((c) =>
      c.relabelled === null
        ? []
        : [
            {
              campaign: c.name,
              dataset: c.relabelled,
              systems: pairSystems(c.relabelled),
              criteria: datasetAgreement(c.ratings),
            },
          ],
    ),
    models: modelResults(db, models),
    runs: runCurves(new RunStore(db), request.campaign === undefined ? null : new Set(systems)),
  };
}
