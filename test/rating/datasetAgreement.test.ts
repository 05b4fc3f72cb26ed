/** Agreement with a dataset's own label, by hand: what counts, what is set apart, and where it is shown. */
import { describe, expect, it } from 'vitest';
import { datasetAgreement } from '../../src/main/rating/datasetAgreement';
import type { StoredRating } from '../../src/main/rating/storedRatings';
import { reportHtml } from '../../src/main/report/html';
import { Results } from '../../src/shared/results';
import type { Verdict } from '../../src/shared/rating';

let nextId = 1;
/** A first rating of a relabelled pair item whose dataset-chosen response is `chosen`. */
function rating(
  chosen: 'first' | 'second',
  helpful: Verdict | null,
  safe: Verdict | null,
  extra: Partial<StoredRating> = {},
): StoredRating {
  const id = nextId++;
  return {
    assignmentId: id,
    item: id,
    kind: 'pair',
    prompt: `p${id}`,
    first: { system: chosen === 'first' ? 'data:hh:chosen' : 'data:hh:rejected', sampleId: 2 * id, response: 'a' },
    second: { system: chosen === 'first' ? 'data:hh:rejected' : 'data:hh:chosen', sampleId: 2 * id + 1, response: 'b' },
    goldHelpful: null,
    goldSafe: null,
    datasetChosen: chosen,
    annotatorId: 1,
    annotator: 'ann',
    swapped: false,
    repeatOf: null,
    helpful,
    safe,
    helpfulStrength: null,
    safeStrength: null,
    rationale: '',
    flag: null,
    flagNote: '',
    skipped: false,
    activeMs: 1000,
    guidelinesVersion: 'g',
    source: 'studio',
    edits: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

describe('agreement with the dataset', () => {
  it('counts decisive answers for the chosen side, sets ties apart, and leaves out skips, flags, repeats and gold', () => {
    const ratings = [
      // helpful: 4 for the dataset's chosen (on either canonical side), 1 against, 1 both bad.
      rating('first', 'first', 'second'),
      rating('second', 'second', 'second'),
      rating('first', 'first', 'both_good'),
      rating('second', 'second', 'first'),
      rating('first', 'second', 'both_bad'),
      rating('second', 'both_bad', 'both_good'),
      // None of these count.
      rating('first', 'second', 'second', { repeatOf: 1 }),
      rating('first', 'second', 'second', { flag: 'broken' }),
      rating('first', null, null, { skipped: true }),
      rating('first', 'second', 'second', { kind: 'gold', datasetChosen: null, goldHelpful: ['first', 'both_bad'] }),
      // An item of a comparison campaign (no dataset side) does not count either.
      rating('first', 'second', 'second', { datasetChosen: null }),
    ];
    const [helpful, safe] = datasetAgreement(ratings);
    // 4 of 5: the Wilson interval by hand: centre (0.8 + 3.8416/10) / 1.76832 = 0.66966,
    // half 1.96 sqrt(0.032 + 0.038416) / 1.76832 = 0.29412 -> [0.37554, 0.96378].
    expect(helpful).toMatchObject({
      criterion: 'helpful',
      decisive: 5,
      agreed: 4,
      bothGood: 0,
      bothBad: 1,
      estimate: 0.8,
    });
    expect(helpful?.low).toBeCloseTo(0.37554, 4);
    expect(helpful?.high).toBeCloseTo(0.96378, 4);
    // safe: the rejected on the first and fourth items, the chosen on the second (1 of 3); 2 both good, 1 both bad.
    expect(safe).toMatchObject({ criterion: 'safe', decisive: 3, agreed: 1, bothGood: 2, bothBad: 1 });
    expect(safe?.estimate).toBeCloseTo(1 / 3, 10);
  });

  it('has no estimate without a decisive answer', () => {
    expect(datasetAgreement([rating('first', 'both_good', 'both_bad')])).toEqual([
      { criterion: 'helpful', decisive: 0, agreed: 0, bothGood: 1, bothBad: 0, estimate: null, low: null, high: null },
      { criterion: 'safe', decisive: 0, agreed: 0, bothGood: 0, bothBad: 1, estimate: null, low: null, high: null },
    ]);
  });

  it('is a section of the HTML report for relabelling campaigns only', () => {
    const base = {
      campaign: 'r',
      campaigns: ['r'],
      systems: [],
      seed: 0,
      reps: 10,
      criteria: [],
      agreement: [],
      models: [],
      runs: [],
    };
    const figures = datasetAgreement([
      rating('first', 'first', 'first'),
      rating('first', 'first', 'second'),
      rating('first', 'second', 'both_bad'),
    ]);
    const html = reportHtml(
      Results.parse({
        ...base,
        datasetAgreement: [
          { campaign: 'r', dataset: '<hh>', systems: ['data:<hh>:chosen', 'data:<hh>:rejected'], criteria: figures },
        ],
      }),
      { generatedAt: new Date(0), version: '0' },
    );
    expect(html).toContain('<section id="dataset-agreement">');
    expect(html).toContain('Campaign r, dataset &lt;hh&gt;');
    expect(html).toMatch(
      /Helpfulness<\/td><td class="num">66\.7% <span class="muted">\[\d+\.\d%, \d+\.\d%\]<\/span><\/td><td class="num">2 of 3<\/td>/,
    );
    const none = reportHtml(Results.parse({ ...base, datasetAgreement: [] }), {
      generatedAt: new Date(0),
      version: '0',
    });
    expect(none).not.toContain('dataset-agreement');
  });
});
