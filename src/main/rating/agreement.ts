/**
 * Inter-annotator agreement on nominal labels (pairwise preferences such as 'first' | 'second' |
 * 'both_good' | 'both_bad', treated here as arbitrary categories), with item-level bootstrap
 * intervals and per-annotator quality figures. Pure functions: no database, no I/O.
 *
 * One call covers one criterion: labels of different criteria are different data sets.
 *
 * Conventions shared by every statistic:
 * - A Label is one annotator's value for one item. Each (item, annotator) pair may appear once:
 *   a second label would be a repeat, and repeats measure self-consistency, not agreement, so they
 *   are refused here (a RangeError) rather than silently counted as another rater. `originalLabels`
 *   drops repeats from RatingFacts.
 * - null means "not defined on these data": too few items, or no variation at all. Chance-corrected
 *   coefficients (Cohen, Fleiss, Krippendorff) are 0/0 when every label is the same category: the
 *   data cannot tell agreement from chance, so they are null, never NaN or a guessed 1. Raw
 *   agreement is still defined there (it is 1).
 * - Every output is plain numbers and null, so it serialises to JSON as is.
 */
import { Rng } from '../core/rng';

/** One rating of one item by one annotator (for one criterion). */
export interface Label {
  item: number;
  annotator: number;
  value: string;
}

/** A point estimate with a percentile bootstrap interval; all null when the estimate is undefined. */
export interface Estimate {
  estimate: number | null;
  low: number | null;
  high: number | null;
}

export interface BootstrapOptions {
  seed: number;
  /** Bootstrap replicates; 1000 unless given. */
  reps?: number;
  /** Interval coverage, in (0, 1); 0.95 unless given. */
  level?: number;
}

/** Labels grouped by item, ascending item id; refuses a second label from one annotator on one item. */
function byItem(labels: readonly Label[]): Map<number, Label[]> {
  const groups = new Map<number, Label[]>();
  const seen = new Set<string>();
  for (const label of labels) {
    if (!Number.isFinite(label.item) || !Number.isFinite(label.annotator)) {
      throw new RangeError(`label ids must be finite numbers, got item ${label.item}, annotator ${label.annotator}`);
    }
    const key = `${label.item}:${label.annotator}`;
    if (seen.has(key)) {
      throw new RangeError(
        `annotator ${label.annotator} labels item ${label.item} twice: pass repeats to annotatorStats, not to agreement statistics`,
      );
    }
    seen.add(key);
    const group = groups.get(label.item);
    if (group) group.push(label);
    else groups.set(label.item, [label]);
  }
  // Sorted so results (and bootstrap draws) do not depend on the order the caller listed labels in.
  return new Map([...groups.entries()].sort((x, y) => x[0] - y[0]));
}

/** How many of each category, for a list of labels. */
function counts(labels: readonly Label[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of labels) out.set(l.value, (out.get(l.value) ?? 0) + 1);
  return out;
}

/** Items rated by at least two annotators: the only ones that say anything about agreement. */
function overlapItems(labels: readonly Label[]): Label[][] {
  return [...byItem(labels).values()].filter((g) => g.length >= 2);
}

/** Number of items rated by at least two annotators. */
export function overlapItemCount(labels: readonly Label[]): number {
  return overlapItems(labels).length;
}

/** Share of agreeing rater pairs within one item: sum_c n_c(n_c - 1) / (m(m - 1)). */
function itemAgreement(group: readonly Label[]): number {
  const m = group.length;
  let agreeing = 0;
  for (const n of counts(group).values()) agreeing += n * (n - 1);
  return agreeing / (m * (m - 1));
}

/**
 * Pairwise percent agreement: over items with at least two raters, the mean of each item's share
 * of agreeing rater pairs. Every item weighs the same whatever its number of raters (this is
 * Fleiss' P-bar). null when no item has two raters.
 *
 *   // item 1: A=x, B=x, C=y -> 1 agreeing pair of 3; item 2: A=x, B=x -> 1 of 1
 *   rawAgreement(labels)  // (1/3 + 1) / 2 = 0.667
 */
export function rawAgreement(labels: readonly Label[]): number | null {
  const items = overlapItems(labels);
  if (items.length === 0) return null;
  let sum = 0;
  for (const group of items) sum += itemAgreement(group);
  return sum / items.length;
}

/**
 * Cohen's kappa for annotators a and b over the items both rated:
 * (p_o - p_e) / (1 - p_e), p_o the share of items they agree on, p_e = sum_c p_a(c) p_b(c) from
 * each one's own category shares. null with fewer than 2 shared items, and null when p_e = 1
 * (both gave one and the same category to every shared item; then p_o = 1 too and kappa is 0/0).
 *
 *   // 50 items; a\b table [[20, 5], [10, 15]]: p_o = 35/50 = 0.7,
 *   // p_e = (25*30 + 25*20) / 50^2 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
 *   cohenKappa(labels, 1, 2)  // 0.4
 */
export function cohenKappa(labels: readonly Label[], a: number, b: number): number | null {
  return cohenPair(byItem(labels), a, b).kappa;
}

/** Cohen's kappa for one pair from already grouped labels, with how many items they share. */
function cohenPair(groups: Map<number, Label[]>, a: number, b: number): { items: number; kappa: number | null } {
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let n = 0;
  let agree = 0;
  for (const group of groups.values()) {
    const la = group.find((l) => l.annotator === a);
    const lb = group.find((l) => l.annotator === b);
    if (!la || !lb) continue;
    n += 1;
    if (la.value === lb.value) agree += 1;
    countA.set(la.value, (countA.get(la.value) ?? 0) + 1);
    countB.set(lb.value, (countB.get(lb.value) ?? 0) + 1);
  }
  if (n < 2) return { items: n, kappa: null };
  // In whole counts, kappa = (n*agree - S) / (n^2 - S) with S = sum_c a_c b_c: exact until the one division.
  let s = 0;
  for (const [c, na] of countA) s += na * (countB.get(c) ?? 0);
  if (s === n * n) return { items: n, kappa: null };
  return { items: n, kappa: (n * agree - s) / (n * n - s) };
}

export interface CohenPair {
  a: number;
  b: number;
  /** Items both rated. */
  items: number;
  kappa: number | null;
}

/**
 * Cohen's kappa for every pair of annotators who share at least one item (a < b, ascending), and
 * the plain mean of the pairs' defined kappas (null when none is defined). The mean is the
 * "average pairwise Cohen" (Light's kappa) used when more than two people rate overlapping items.
 *
 *   // A and B agree perfectly with variation (kappa 1); A and C, B and C share one item only
 *   meanPairwiseCohen(labels)  // { mean: 1, pairs: [{a:1,b:2,items:4,kappa:1}, {a:1,b:3,items:1,kappa:null}, ...] }
 */
export function meanPairwiseCohen(labels: readonly Label[]): { mean: number | null; pairs: CohenPair[] } {
  const groups = byItem(labels);
  const shared = new Set<string>();
  for (const group of groups.values()) {
    const ids = group.map((l) => l.annotator).sort((x, y) => x - y);
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) shared.add(`${ids[i]}:${ids[j]}`);
  }
  const pairs: CohenPair[] = [...shared]
    .map((key) => key.split(':').map(Number) as [number, number])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .map(([a, b]) => ({ a, b, ...cohenPair(groups, a, b) }));
  const defined = pairs.map((p) => p.kappa).filter((k): k is number => k !== null);
  return { mean: defined.length === 0 ? null : defined.reduce((x, y) => x + y, 0) / defined.length, pairs };
}

/**
 * Fleiss' kappa over the items with at least two raters, generalised to a varying number of raters
 * per item (the form the brief specifies, as in e.g. Fleiss, Levin & Paik 2003):
 *   P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))      agreeing pairs in item i
 *   P_bar = mean of P_i over items                        (= rawAgreement)
 *   p_j = share of all those items' ratings in category j (items with more raters weigh more here)
 *   P_e = sum_j p_j^2,  kappa = (P_bar - P_e) / (1 - P_e)
 * With the same number of raters on every item this is the textbook Fleiss kappa. null when no
 * item has two raters or when a single category was used throughout (P_e = 1).
 *
 *   // 2 items x 2 raters: (x, x), (y, y): P_bar = 1, p = (1/2, 1/2), P_e = 1/2 -> kappa = 1
 *   // 2 items x 2 raters: (x, y), (x, y): P_bar = 0, P_e = 1/2 -> kappa = -1
 *   fleissKappa(labels)
 */
export function fleissKappa(labels: readonly Label[]): number | null {
  const items = overlapItems(labels);
  if (items.length === 0) return null;
  let pBar = 0;
  const all = new Map<string, number>();
  let total = 0;
  for (const group of items) {
    pBar += itemAgreement(group);
    for (const [c, n] of counts(group)) all.set(c, (all.get(c) ?? 0) + n);
    total += group.length;
  }
  pBar /= items.length;
  // One category only: P_e is exactly 1 (decided on the counts, not on a rounded float).
  if (all.size < 2) return null;
  let pE = 0;
  for (const n of all.values()) pE += (n / total) ** 2;
  return (pBar - pE) / (1 - pE);
}

/**
 * Krippendorff's alpha for nominal data, via the coincidence matrix. Each unit (item) with m_u >= 2
 * values contributes every ordered pair of values from different annotators with weight
 * 1 / (m_u - 1), so each pairable value counts once in total; units with a single value drop out.
 * With n_c the pairable values in category c and n = sum_c n_c:
 *   D_o ∝ sum_{c != k} o_ck = sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1)
 *   D_e ∝ sum_{c != k} n_c n_k / (n - 1) = (n^2 - sum_c n_c^2) / (n - 1)
 *   alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_{c != k} o_ck / (n^2 - sum_c n_c^2)
 * null when no unit is pairable or when every pairable value is one category (D_e = 0).
 *
 *   // units (x, x), (x, y), (y, y): o_xy = o_yx = 1 (the middle unit, weight 1/(2-1)), n_x = n_y = 3,
 *   // n = 6: alpha = 1 - 5 * 2 / (36 - 18) = 1 - 10/18 = 0.444
 *   krippendorffAlpha(labels)
 */
export function krippendorffAlpha(labels: readonly Label[]): number | null {
  const items = overlapItems(labels);
  if (items.length === 0) return null;
  let disagreement = 0;
  const all = new Map<string, number>();
  let n = 0;
  for (const group of items) {
    const m = group.length;
    let squares = 0;
    for (const [c, k] of counts(group)) {
      squares += k * k;
      all.set(c, (all.get(c) ?? 0) + k);
    }
    disagreement += (m * m - squares) / (m - 1);
    n += m;
  }
  if (all.size < 2) return null;
  let squares = 0;
  for (const k of all.values()) squares += k * k;
  return 1 - ((n - 1) * disagreement) / (n * n - squares);
}

/**
 * The q-quantile of sorted values, interpolating linearly between order statistics (Hyndman & Fan
 * type 7, R's default), so small replicate counts still give a sensible percentile.
 */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (h - lo) * (b - a);
}

function checkBootstrap(opts: BootstrapOptions): { reps: number; level: number } {
  const reps = opts.reps ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`reps must be a whole number >= 1, got ${reps}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  return { reps, level };
}

/** A statistic of labels, null where undefined: what bootstrapCi resamples. */
export type Statistic = (labels: readonly Label[]) => number | null;

/**
 * Several statistics bootstrapped on the same item resamples, so their intervals come from the
 * same replicate data sets (and one seed reproduces all of them).
 */
function bootstrapMany(labels: readonly Label[], statistics: readonly Statistic[], opts: BootstrapOptions): Estimate[] {
  const { reps, level } = checkBootstrap(opts);
  const groups = [...byItem(labels).values()];
  const estimates = statistics.map((f) => f(labels));
  const replicates: number[][] = statistics.map(() => []);
  const rng = new Rng(opts.seed);
  if (groups.length > 0 && estimates.some((e) => e !== null)) {
    for (let r = 0; r < reps; r++) {
      const sample: Label[] = [];
      for (let k = 0; k < groups.length; k++) {
        // A drawn item keeps all its ratings, under a fresh id so a twice-drawn item counts twice.
        for (const l of groups[rng.int(groups.length)] as Label[])
          sample.push({ item: k, annotator: l.annotator, value: l.value });
      }
      statistics.forEach((f, i) => {
        if (estimates[i] === null) return;
        const v = f(sample);
        if (v !== null) (replicates[i] as number[]).push(v);
      });
    }
  }
  const tail = (1 - level) / 2;
  return estimates.map((estimate, i) => {
    const values = (replicates[i] as number[]).sort((x, y) => x - y);
    if (estimate === null || values.length === 0) return { estimate, low: null, high: null };
    return { estimate, low: quantile(values, tail), high: quantile(values, 1 - tail) };
  });
}

/**
 * A percentile bootstrap interval for an agreement statistic, resampling ITEMS with replacement:
 * ratings of one item are dependent (same item difficulty), so the item is the unit of
 * resampling. Each replicate draws as many items as there are distinct items (single-rated items
 * included: they are part of the sampling design even though the statistics skip them). The
 * estimate is the statistic on the original labels; replicates where the statistic is null are
 * skipped; low/high are null when the estimate is null or no replicate was defined. Quantiles
 * interpolate linearly (type 7). Same labels and seed -> same interval.
 *
 *   // the 50-item Cohen table [[20, 5], [10, 15]] above, 1000 replicates:
 *   bootstrapCi(labels, (ls) => cohenKappa(ls, 1, 2), { seed: 7 })  // { estimate: 0.4, low: 0.152, high: 0.608 }
 *   bootstrapCi(labels, fleissKappa, { seed: 7, reps: 2000, level: 0.9 })
 */
export function bootstrapCi(labels: readonly Label[], statistic: Statistic, opts: BootstrapOptions): Estimate {
  return bootstrapMany(labels, [statistic], opts)[0] as Estimate;
}

/** One rating as recorded, with what the per-annotator figures need to know about it. */
export interface RatingFact {
  /** This rating's own id (e.g. its assignment's id), referred to by repeats. */
  id: number;
  item: number;
  annotator: number;
  /** In canonical terms: 'first' / 'second' name the item's responses, not the screen sides. */
  value: string;
  /** True when the item's 'first' response was shown on the right (so 'second' was on the left). */
  shownSwapped: boolean;
  /**
   * The right values for a gold item, in canonical terms (any of them counts as right: an
   * automatic gold item accepts the on-topic response or "both bad"); null for an ordinary item.
   */
  gold: readonly string[] | null;
  /**
   * For a repeat (the same item shown again to the same annotator, typically with sides swapped):
   * the id of the original rating. null for an original rating.
   */
  repeatOf: number | null;
}

/** The values that pick a side; position bias counts only these. */
const DECISIVE = new Set(['first', 'second']);

export interface AnnotatorStats {
  annotator: number;
  /** Original ratings (repeats not counted). */
  n: number;
  /** Repeat ratings. */
  repeats: number;
  /**
   * Share of (their label, another annotator's label) pairs on shared items that match, over
   * original ratings; null when they share no item with anyone.
   */
  agreement: number | null;
  agreementPairs: number;
  /** Correct / rated over gold items (originals and repeats, each a separate answer); null if none. */
  goldAccuracy: number | null;
  goldItems: number;
  /**
   * Share of repeats whose canonical value equals their original's, over repeats whose original is
   * among the facts; null without such a repeat.
   */
  selfConsistency: number | null;
  /** Repeats compared with their original (the denominator of selfConsistency). */
  repeatPairs: number;
  /**
   * Share of decisive choices ('first' / 'second', originals and repeats) that picked the side
   * shown on the LEFT: 0.5 is unbiased. null without a decisive choice.
   */
  positionBias: number | null;
  decisive: number;
}

/**
 * Facts by id, checking that each repeat points at an original of the same annotator and item.
 * A repeat whose original is absent is allowed (the caller may have dropped a skipped or flagged
 * original): it still counts as a judgement, but not towards self-consistency.
 */
function checkFacts(facts: readonly RatingFact[]): Map<number, RatingFact> {
  const ids = new Map<number, RatingFact>();
  for (const f of facts) {
    if (ids.has(f.id)) throw new RangeError(`rating id ${f.id} appears twice`);
    ids.set(f.id, f);
  }
  for (const f of facts) {
    if (f.repeatOf === null) continue;
    const original = ids.get(f.repeatOf);
    if (!original) continue;
    if (original.repeatOf !== null)
      throw new RangeError(`rating ${f.id} repeats ${f.repeatOf}, which is itself a repeat`);
    if (original.item !== f.item || original.annotator !== f.annotator) {
      throw new RangeError(`rating ${f.id} repeats ${f.repeatOf}, a rating of another item or annotator`);
    }
  }
  return ids;
}

/**
 * The original ratings (repeatOf null) as Labels: what the agreement statistics take, since a
 * repeat is the same annotator again, not another rater.
 *
 *   originalLabels([{ id: 1, item: 5, annotator: 2, value: 'first', shownSwapped: false, gold: null, repeatOf: null },
 *                   { id: 2, item: 5, annotator: 2, value: 'first', shownSwapped: true, gold: null, repeatOf: 1 }])
 *   // [{ item: 5, annotator: 2, value: 'first' }]
 */
export function originalLabels(facts: readonly RatingFact[]): Label[] {
  return facts
    .filter((f) => f.repeatOf === null)
    .map((f) => ({ item: f.item, annotator: f.annotator, value: f.value }));
}

const share = (hits: number, total: number): number | null => (total === 0 ? null : hits / total);

/**
 * Per-annotator figures, ascending annotator id.
 *
 *   // Annotator 1: item 10 'first' (not swapped, so left), item 11 'second' (swapped, so left),
 *   // gold ['second'] on item 11 -> right; a swapped repeat of item 10 saying 'first' -> consistent
 *   // (its left was 'second', so that choice was the right side).
 *   // Annotator 2 rated item 10 'second': 1 pair with annotator 1, not matching.
 *   annotatorStats(facts)[0]
 *   // { annotator: 1, n: 2, repeats: 1, agreement: 0, agreementPairs: 1, goldAccuracy: 1, goldItems: 1,
 *   //   selfConsistency: 1, repeatPairs: 1, positionBias: 2/3, decisive: 3 }
 */
export function annotatorStats(facts: readonly RatingFact[]): AnnotatorStats[] {
  const ids = checkFacts(facts);
  const groups = byItem(originalLabels(facts));
  const annotators = [...new Set(facts.map((f) => f.annotator))].sort((x, y) => x - y);
  return annotators.map((annotator) => {
    const mine = facts.filter((f) => f.annotator === annotator);
    const originals = mine.filter((f) => f.repeatOf === null);
    const repeats = mine.filter((f) => f.repeatOf !== null);

    let pairs = 0;
    let matches = 0;
    for (const f of originals) {
      for (const other of groups.get(f.item) ?? []) {
        if (other.annotator === annotator) continue;
        pairs += 1;
        if (other.value === f.value) matches += 1;
      }
    }

    const goldRated = mine.filter((f) => f.gold !== null);
    const paired = repeats.filter((f) => ids.has(f.repeatOf as number));
    const consistent = paired.filter((f) => ids.get(f.repeatOf as number)?.value === f.value).length;
    const decisive = mine.filter((f) => DECISIVE.has(f.value));
    const left = decisive.filter((f) => f.value === (f.shownSwapped ? 'second' : 'first')).length;

    return {
      annotator,
      n: originals.length,
      repeats: repeats.length,
      agreement: share(matches, pairs),
      agreementPairs: pairs,
      goldAccuracy: share(
        goldRated.filter((f) => (f.gold as readonly string[]).includes(f.value)).length,
        goldRated.length,
      ),
      goldItems: goldRated.length,
      selfConsistency: share(consistent, paired.length),
      repeatPairs: paired.length,
      positionBias: share(left, decisive.length),
      decisive: decisive.length,
    };
  });
}

export interface AgreementReport {
  /** Items with at least two original ratings. */
  items: number;
  raw: Estimate;
  /** Mean pairwise Cohen's kappa. */
  cohen: Estimate;
  cohenPairs: CohenPair[];
  fleiss: Estimate;
  alpha: Estimate;
  annotators: AnnotatorStats[];
}

/**
 * Everything for one criterion: the agreement statistics on the original ratings (repeats
 * excluded), each with a bootstrap interval from the same item resamples, and per-annotator
 * figures (which do use repeats, for self-consistency).
 *
 *   agreementReport(facts, { seed: 1 })   // shape (numbers illustrative):
 *   // { items: 40, raw: { estimate: 0.71, low: 0.62, high: 0.8 }, cohen: {...}, cohenPairs: [...],
 *   //   fleiss: {...}, alpha: {...}, annotators: [{ annotator: 1, n: 40, ... }, ...] }
 */
export function agreementReport(facts: readonly RatingFact[], opts: BootstrapOptions): AgreementReport {
  checkFacts(facts);
  const labels = originalLabels(facts);
  const [raw, cohen, fleiss, alpha] = bootstrapMany(
    labels,
    [rawAgreement, (ls) => meanPairwiseCohen(ls).mean, fleissKappa, krippendorffAlpha],
    opts,
  ) as [Estimate, Estimate, Estimate, Estimate];
  return {
    items: overlapItemCount(labels),
    raw,
    cohen,
    cohenPairs: meanPairwiseCohen(labels).pairs,
    fleiss,
    alpha,
    annotators: annotatorStats(facts),
  };
}
