/** Agreement statistics against textbook examples and small cases worked out by hand. */
import { describe, expect, it } from 'vitest';
import {
  agreementReport,
  annotatorStats,
  bootstrapCi,
  cohenKappa,
  fleissKappa,
  krippendorffAlpha,
  meanPairwiseCohen,
  originalLabels,
  overlapItemCount,
  rawAgreement,
  type Label,
  type RatingFact,
} from '../../src/main/rating/agreement';

/** Labels from rows of [item, annotator, value]. */
const L = (rows: [number, number, string][]): Label[] =>
  rows.map(([item, annotator, value]) => ({ item, annotator, value }));

/** Two raters' labels from a 2x2 table: table[r][c] items where rater 1 said r and rater 2 said c. */
function fromTable(table: number[][], cats: string[]): Label[] {
  const out: Label[] = [];
  let item = 0;
  table.forEach((row, r) =>
    row.forEach((count, c) => {
      for (let k = 0; k < count; k++, item++)
        out.push({ item, annotator: 1, value: cats[r]! }, { item, annotator: 2, value: cats[c]! });
    }),
  );
  return out;
}

/** Labels from a Fleiss count table: counts[i][j] raters put item i in category j (raters numbered per item). */
function fromCounts(counts: number[][]): Label[] {
  const out: Label[] = [];
  counts.forEach((row, item) => {
    let annotator = 0;
    row.forEach((n, j) => {
      for (let k = 0; k < n; k++) out.push({ item, annotator: annotator++, value: `c${j + 1}` });
    });
  });
  return out;
}

// Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
const WIKI_FLEISS = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C (nominal data):
// observers A-D (1-4) by units 1-12, null = missing.
const KRIPP: (number | null)[][] = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
  [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
];
const kripp = (): Label[] =>
  KRIPP.flatMap((row, a) =>
    row.flatMap((v, u) => (v === null ? [] : [{ item: u + 1, annotator: a + 1, value: String(v) }])),
  );

describe("Cohen's kappa", () => {
  it('gives 0.4 on the textbook table [[20, 5], [10, 15]]', () => {
    // p_o = 35/50 = 0.7; rater 1 says yes 25, rater 2 says yes 30: p_e = (25*30 + 25*20)/2500 = 0.5;
    // kappa = (0.7 - 0.5)/(1 - 0.5) = 0.4.
    const labels = fromTable(
      [
        [20, 5],
        [10, 15],
      ],
      ['yes', 'no'],
    );
    expect(cohenKappa(labels, 1, 2)).toBeCloseTo(0.4, 12);
    expect(cohenKappa(labels, 2, 1)).toBeCloseTo(0.4, 12);
  });
  it('uses only the items both rated, in any label order', () => {
    const labels = [
      ...fromTable(
        [
          [20, 5],
          [10, 15],
        ],
        ['yes', 'no'],
      ),
      ...L([
        [100, 1, 'yes'],
        [101, 2, 'no'],
        [102, 3, 'yes'],
      ]),
    ];
    expect(cohenKappa(labels.reverse(), 1, 2)).toBeCloseTo(0.4, 12);
  });
  it('is 1 for perfect agreement with variation, -1 for perfect disagreement on a balanced table', () => {
    expect(
      cohenKappa(
        fromTable(
          [
            [3, 0],
            [0, 2],
          ],
          ['x', 'y'],
        ),
        1,
        2,
      ),
    ).toBe(1);
    // p_o = 0, p_e = (2*2 + 2*2)/16 = 0.5 -> -1
    expect(
      cohenKappa(
        fromTable(
          [
            [0, 2],
            [2, 0],
          ],
          ['x', 'y'],
        ),
        1,
        2,
      ),
    ).toBe(-1);
  });
  it('is null with fewer than 2 shared items and when expected agreement is 1 (one category throughout)', () => {
    expect(
      cohenKappa(
        L([
          [1, 1, 'x'],
          [1, 2, 'x'],
          [2, 1, 'x'],
          [3, 2, 'y'],
        ]),
        1,
        2,
      ),
    ).toBeNull();
    expect(
      cohenKappa(
        L([
          [1, 1, 'x'],
          [1, 2, 'x'],
          [2, 1, 'x'],
          [2, 2, 'x'],
        ]),
        1,
        2,
      ),
    ).toBeNull();
    expect(cohenKappa([], 1, 2)).toBeNull();
  });
  it('averages over annotator pairs with shared items, skipping undefined pairs', () => {
    // 1 vs 2 on items 1-4: x x / y y / x y / y y -> p_o = 3/4; 1 says x,y,x,y; 2 says x,y,y,y:
    //   S = 2*1 + 2*3 = 8, kappa = (4*3 - 8)/(16 - 8) = 0.5
    // 1 vs 3 on items 1, 2: x x / y y -> kappa 1 (S = 1 + 1 = 2, (2*2 - 2)/(4 - 2) = 1)
    // 2 vs 3 on items 1, 2 -> same, 1.  Mean = (0.5 + 1 + 1)/3 = 5/6.
    // 3 vs 4 share only item 5 -> listed with kappa null, left out of the mean.
    const labels = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [1, 3, 'x'],
      [2, 1, 'y'],
      [2, 2, 'y'],
      [2, 3, 'y'],
      [3, 1, 'x'],
      [3, 2, 'y'],
      [4, 1, 'y'],
      [4, 2, 'y'],
      [5, 3, 'x'],
      [5, 4, 'y'],
    ]);
    const { mean, pairs } = meanPairwiseCohen(labels);
    expect(pairs).toEqual([
      { a: 1, b: 2, items: 4, kappa: 0.5 },
      { a: 1, b: 3, items: 2, kappa: 1 },
      { a: 2, b: 3, items: 2, kappa: 1 },
      { a: 3, b: 4, items: 1, kappa: null },
    ]);
    expect(mean).toBeCloseTo(5 / 6, 12);
    expect(
      meanPairwiseCohen(
        L([
          [1, 1, 'x'],
          [2, 2, 'x'],
        ]),
      ),
    ).toEqual({ mean: null, pairs: [] });
  });
});

describe("Fleiss' kappa and raw agreement", () => {
  it("reproduces Wikipedia's worked example: P_bar 0.378, P_e 0.213, kappa 0.210", () => {
    const labels = fromCounts(WIKI_FLEISS);
    expect(rawAgreement(labels)!.toFixed(3)).toBe('0.378');
    expect(fleissKappa(labels)!.toFixed(3)).toBe('0.210');
    // Exactly: sum_i sum_j n_ij^2 = 828 -> P_bar = (828 - 140)/(140*13) = 688/1820;
    // column totals 20, 28, 39, 21, 32 of 140 -> P_e = 4170/19600.
    const pe = 4170 / 19600;
    expect(fleissKappa(labels)).toBeCloseTo((688 / 1820 - pe) / (1 - pe), 12);
  });
  it('handles a varying number of raters per item by the generalised formula', () => {
    // item 1: x x y -> P_1 = (2*1 + 0)/(3*2) = 1/3; item 2: x x -> 1; item 3: y y -> 1; item 4: one rater, skipped.
    // P_bar = (1/3 + 1 + 1)/3 = 7/9. Ratings: x 4, y 3 of 7 -> P_e = (16 + 9)/49 = 25/49.
    // kappa = (7/9 - 25/49)/(24/49) = 118/216.
    const labels = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [1, 3, 'y'],
      [2, 1, 'x'],
      [2, 2, 'x'],
      [3, 2, 'y'],
      [3, 3, 'y'],
      [4, 1, 'x'],
    ]);
    expect(rawAgreement(labels)).toBeCloseTo(7 / 9, 12);
    expect(fleissKappa(labels)).toBeCloseTo(118 / 216, 12);
    expect(overlapItemCount(labels)).toBe(3);
  });
  it('is 1 for perfect agreement, null without overlap or without variation', () => {
    const perfect = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [2, 1, 'y'],
      [2, 2, 'y'],
      [2, 3, 'y'],
    ]);
    expect(rawAgreement(perfect)).toBe(1);
    expect(fleissKappa(perfect)).toBe(1);
    const single = L([
      [1, 1, 'x'],
      [2, 1, 'y'],
    ]);
    expect(rawAgreement(single)).toBeNull();
    expect(fleissKappa(single)).toBeNull();
    const oneCategory = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [2, 1, 'x'],
      [2, 2, 'x'],
    ]);
    expect(rawAgreement(oneCategory)).toBe(1);
    expect(fleissKappa(oneCategory)).toBeNull();
  });
  it('refuses a second label from one annotator on one item', () => {
    expect(() =>
      fleissKappa(
        L([
          [1, 1, 'x'],
          [1, 1, 'y'],
          [1, 2, 'x'],
        ]),
      ),
    ).toThrow(RangeError);
  });
});

describe("Krippendorff's alpha (nominal)", () => {
  it("reproduces Krippendorff's 2011 reliability-data example: alpha = 0.743", () => {
    // Unit 12 has one value and drops out; 40 pairable values: n_1..n_5 = 9, 13, 10, 5, 3 (sum of squares 384).
    // Disagreeing units: 2 (2,2,3,2): (16 - 10)/3 = 2; 6 (1,2,3,4): (16 - 4)/3 = 4; 8 (1,1,2,1): 2. Sum 8.
    // alpha = 1 - (40 - 1) * 8 / (40^2 - 384) = 1 - 312/1216 = 0.7434.
    const alpha = krippendorffAlpha(kripp());
    expect(alpha).toBeCloseTo(1 - 312 / 1216, 12);
    expect(alpha!.toFixed(3)).toBe('0.743');
  });
  it('matches a three-unit example by hand', () => {
    // (x, x), (x, y), (y, y): o_xy = o_yx = 1, n_x = n_y = 3, n = 6: alpha = 1 - 5 * 2 / (36 - 18) = 4/9.
    const labels = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [2, 1, 'x'],
      [2, 2, 'y'],
      [3, 1, 'y'],
      [3, 2, 'y'],
    ]);
    expect(krippendorffAlpha(labels)).toBeCloseTo(4 / 9, 12);
    // The generalised-Fleiss example above: disagreement (9 - 5)/2 = 2, n = 7 (x 4, y 3): 1 - 6 * 2 / (49 - 25) = 0.5.
    expect(
      krippendorffAlpha(
        L([
          [1, 1, 'x'],
          [1, 2, 'x'],
          [1, 3, 'y'],
          [2, 1, 'x'],
          [2, 2, 'x'],
          [3, 2, 'y'],
          [3, 3, 'y'],
          [4, 1, 'x'],
        ]),
      ),
    ).toBeCloseTo(0.5, 12);
  });
  it('is 1 for perfect agreement, null without pairable values or variation', () => {
    expect(
      krippendorffAlpha(
        L([
          [1, 1, 'x'],
          [1, 2, 'x'],
          [2, 1, 'y'],
          [2, 2, 'y'],
        ]),
      ),
    ).toBe(1);
    expect(
      krippendorffAlpha(
        L([
          [1, 1, 'x'],
          [2, 2, 'y'],
        ]),
      ),
    ).toBeNull();
    expect(
      krippendorffAlpha(
        L([
          [1, 1, 'x'],
          [1, 2, 'x'],
        ]),
      ),
    ).toBeNull();
  });
});

describe('bootstrap intervals over items', () => {
  const labels = fromTable(
    [
      [20, 5],
      [10, 15],
    ],
    ['yes', 'no'],
  );
  const kappa12 = (ls: readonly Label[]) => cohenKappa(ls, 1, 2);

  it('repeats exactly for a seed and contains the estimate', () => {
    const a = bootstrapCi(labels, kappa12, { seed: 42, reps: 500 });
    const b = bootstrapCi([...labels].reverse(), kappa12, { seed: 42, reps: 500 });
    expect(a).toEqual(b);
    expect(a.estimate).toBeCloseTo(0.4, 12);
    expect(a.low!).toBeLessThan(0.4);
    expect(a.high!).toBeGreaterThan(0.4);
    expect(a.low!).toBeGreaterThan(0);
    expect(a.high!).toBeLessThan(0.8);
    expect(bootstrapCi(labels, kappa12, { seed: 43, reps: 500 })).not.toEqual(a);
    // A narrower level gives a narrower interval from the same replicates.
    const c = bootstrapCi(labels, kappa12, { seed: 42, reps: 500, level: 0.5 });
    expect(c.low!).toBeGreaterThan(a.low!);
    expect(c.high!).toBeLessThan(a.high!);
  });
  it('gives a drawn-twice item a fresh id, so it counts twice', () => {
    // Every item has 2 raters; each replicate draws 50 items, and the overlap count stays 50 only if
    // duplicates are kept apart (merged, they would also trip the one-label-per-annotator check).
    expect(bootstrapCi(labels, overlapItemCount, { seed: 1, reps: 50 })).toEqual({ estimate: 50, low: 50, high: 50 });
  });
  it('gives null bounds when the statistic is null on the data, and skips null replicates', () => {
    expect(bootstrapCi(L([[1, 1, 'x']]), fleissKappa, { seed: 1, reps: 20 })).toEqual({
      estimate: null,
      low: null,
      high: null,
    });
    // Two agreeing items, (x, x) and (y, y): a replicate drawing one of them twice has one category only
    // and a null kappa (about half of them); the rest are 1, so the interval is [1, 1].
    const few = L([
      [1, 1, 'x'],
      [1, 2, 'x'],
      [2, 1, 'y'],
      [2, 2, 'y'],
    ]);
    const ci = bootstrapCi(few, fleissKappa, { seed: 3, reps: 200 });
    expect(ci).toEqual({ estimate: 1, low: 1, high: 1 });
  });
  it('rejects nonsense options', () => {
    expect(() => bootstrapCi(labels, kappa12, { seed: 1, reps: 0 })).toThrow(RangeError);
    expect(() => bootstrapCi(labels, kappa12, { seed: 1, level: 1 })).toThrow(RangeError);
  });
});

describe('per-annotator figures and the report', () => {
  const fact = (
    id: number,
    item: number,
    annotator: number,
    value: string,
    extra: Partial<RatingFact> = {},
  ): RatingFact => ({
    id,
    item,
    annotator,
    value,
    shownSwapped: false,
    gold: null,
    repeatOf: null,
    ...extra,
  });
  const facts: RatingFact[] = [
    // Annotator 1
    fact(1, 10, 1, 'first'), //                                   left (not swapped)
    fact(2, 11, 1, 'second', { shownSwapped: true, gold: ['second'] }), // left (swapped), gold right
    fact(3, 12, 1, 'both_good', { gold: ['first', 'both_bad'] }), //                   not decisive, gold wrong
    fact(4, 10, 1, 'first', { shownSwapped: true, repeatOf: 1 }), //   right side; same as original -> consistent
    fact(5, 11, 1, 'first', { shownSwapped: false, repeatOf: 2 }), //  left; differs from original -> inconsistent
    // Annotator 2
    fact(6, 10, 2, 'first', { shownSwapped: true }), //                 right side
    fact(7, 11, 2, 'first', { gold: ['second'] }), //                    left, gold wrong
    fact(8, 12, 2, 'both_good', { shownSwapped: true, gold: ['first'] }), // gold wrong
    // Annotator 3 rated only item 13, alone
    fact(9, 13, 3, 'both_bad'),
  ];

  it('computes agreement, gold accuracy, self-consistency and position bias by hand', () => {
    const stats = annotatorStats(facts);
    // Annotator 1 originals: items 10 (first = 2's first: match), 11 (second vs first: no), 12 (both_good = both_good: match).
    // 3 pairs, 2 matches. Gold: ids 2 (right), 3 (wrong) -> 1/2. Repeats: id 4 consistent, id 5 not -> 1/2.
    // Decisive: ids 1 (left), 2 (left), 4 (right), 5 (left) -> 3/4.
    expect(stats[0]).toEqual({
      annotator: 1,
      n: 3,
      repeats: 2,
      agreement: 2 / 3,
      agreementPairs: 3,
      goldAccuracy: 0.5,
      goldItems: 2,
      selfConsistency: 0.5,
      repeatPairs: 2,
      positionBias: 0.75,
      decisive: 4,
    });
    // Annotator 2: same 3 pairs. Gold: ids 7, 8 wrong -> 0. No repeats. Decisive: 6 (right), 7 (left) -> 1/2.
    expect(stats[1]).toEqual({
      annotator: 2,
      n: 3,
      repeats: 0,
      agreement: 2 / 3,
      agreementPairs: 3,
      goldAccuracy: 0,
      goldItems: 2,
      selfConsistency: null,
      repeatPairs: 0,
      positionBias: 0.5,
      decisive: 2,
    });
    // Annotator 3: nothing shared, no gold, no repeat, no decisive choice.
    expect(stats[2]).toEqual({
      annotator: 3,
      n: 1,
      repeats: 0,
      agreement: null,
      agreementPairs: 0,
      goldAccuracy: null,
      goldItems: 0,
      selfConsistency: null,
      repeatPairs: 0,
      positionBias: null,
      decisive: 0,
    });
  });

  it('keeps repeats out of the agreement statistics', () => {
    const labels = originalLabels(facts);
    expect(labels).toHaveLength(7);
    expect(labels.find((l) => l.item === 10 && l.annotator === 1)).toEqual({ item: 10, annotator: 1, value: 'first' });
  });

  it('counts a repeat whose original was left out as a judgement, but not towards self-consistency', () => {
    // The original (id 1) was dropped by the caller, e.g. flagged: the repeat is swapped and says 'second', the left side.
    const [stats] = annotatorStats([fact(2, 10, 1, 'second', { shownSwapped: true, repeatOf: 1 })]);
    expect(stats).toMatchObject({
      n: 0,
      repeats: 1,
      repeatPairs: 0,
      selfConsistency: null,
      positionBias: 1,
      decisive: 1,
    });
  });

  it('refuses repeats that point at a repeat or at another annotator or item, and duplicate ids', () => {
    expect(() => annotatorStats([fact(1, 10, 1, 'first'), fact(2, 11, 1, 'first', { repeatOf: 1 })])).toThrow(
      RangeError,
    );
    expect(() =>
      annotatorStats([
        fact(1, 10, 1, 'first'),
        fact(2, 10, 1, 'first', { repeatOf: 1 }),
        fact(3, 10, 1, 'first', { repeatOf: 2 }),
      ]),
    ).toThrow(RangeError);
    expect(() => annotatorStats([fact(1, 10, 1, 'first'), fact(2, 10, 2, 'first', { repeatOf: 1 })])).toThrow(
      RangeError,
    );
    expect(() => annotatorStats([fact(1, 10, 1, 'first'), fact(1, 11, 1, 'first')])).toThrow(RangeError);
  });

  it('reports every statistic with an interval, as plain JSON, repeatably', () => {
    const report = agreementReport(facts, { seed: 5, reps: 200 });
    expect(report.items).toBe(3);
    // Originals on items 10-12: first/first, second/first, both_good/both_good -> raw (1 + 0 + 1)/3.
    expect(report.raw.estimate).toBeCloseTo(2 / 3, 12);
    // Cohen 1 vs 2: S = 1*2 + 1*0 + 1*1 = 3, agree 2, n 3 -> (3*2 - 3)/(9 - 3) = 0.5.
    expect(report.cohen.estimate).toBeCloseTo(0.5, 12);
    expect(report.cohenPairs).toEqual([{ a: 1, b: 2, items: 3, kappa: 0.5 }]);
    // Fleiss: P_bar 2/3; ratings first 3, second 1, both_good 2 of 6 -> P_e = 14/36; (2/3 - 14/36)/(22/36) = 10/22.
    expect(report.fleiss.estimate).toBeCloseTo(10 / 22, 12);
    // Alpha: disagreement 2 (item 11), n = 6, sum n_c^2 = 14: 1 - 5 * 2 / (36 - 14) = 12/22.
    expect(report.alpha.estimate).toBeCloseTo(12 / 22, 12);
    for (const e of [report.raw, report.cohen, report.fleiss, report.alpha]) {
      expect(e.low!).toBeLessThanOrEqual(e.high!);
    }
    expect(report.annotators.map((a) => a.annotator)).toEqual([1, 2, 3]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(agreementReport(facts, { seed: 5, reps: 200 })).toEqual(report);
  });
});
