/** The HTML report: one self-contained file, every text escaped, the figures of the results in it. */
import { describe, expect, it } from 'vitest';
import { reportHtml } from '../../src/main/report/html';
import { escapeXml, histogramChart, intervalChart, lineChart, niceAxis } from '../../src/main/report/svg';
import { Results, SEPARATION_RULE } from '../../src/shared/results';

const hostile = '<img src="https://evil.example/x.png" onerror="alert(1)">';

/** Results as results.get gives them, with text that must not come through as markup. */
function sample(): Results {
  const interval = { estimate: 0.5, low: 0.2, high: 0.8 };
  const agreement = (criterion: 'helpful' | 'safe') => ({
    criterion,
    items: 6,
    raw: interval,
    cohen: interval,
    fleiss: interval,
    alpha: interval,
    annotators: [{ annotator: 'alice', n: 6, agreement: 1, goldAccuracy: null, selfConsistency: 1, positionBias: 0.5 }],
  });
  return Results.parse({
    campaign: 'pilot',
    campaigns: ['pilot'],
    systems: ['sys-alpha', 'sys-beta'],
    seed: 0,
    reps: 100,
    criteria: [
      {
        criterion: 'helpful',
        comparisons: 12,
        pairs: [
          {
            a: 'sys-alpha',
            b: 'sys-beta',
            wins: 6,
            ties: 4,
            losses: 2,
            bothGood: 1,
            bothBad: 3,
            n: 12,
            winRate: 8 / 12,
            bothGoodRate: 1 / 12,
            bothBadRate: 3 / 12,
            ci: { estimate: 8 / 12, low: 0.4167, high: 0.875 },
            ahead: null,
          },
        ],
        leaderboard: [
          {
            system: 'sys-alpha',
            strength: Math.SQRT2,
            score: 1060.2,
            low: 990.5,
            high: 1140.1,
            rank: 1,
            notSeparableFrom: ['sys-beta'],
            games: 12,
          },
          {
            system: 'sys-beta',
            strength: Math.SQRT1_2,
            score: 939.8,
            low: 859.9,
            high: 1009.5,
            rank: 1,
            notSeparableFrom: ['sys-alpha'],
            games: 12,
          },
        ],
        regularised: false,
      },
      {
        criterion: 'safe',
        comparisons: 12,
        pairs: [
          {
            a: 'sys-alpha',
            b: 'sys-beta',
            wins: 2,
            ties: 2,
            losses: 8,
            bothGood: 2,
            bothBad: 0,
            n: 12,
            winRate: 0.25,
            bothGoodRate: 2 / 12,
            bothBadRate: 0,
            ci: { estimate: 0.25, low: 0.0833, high: 0.4583 },
            ahead: 'sys-beta',
          },
        ],
        leaderboard: [
          {
            system: 'sys-beta',
            strength: 1.73,
            score: 1095.4,
            low: 1020,
            high: 1200,
            rank: 1,
            notSeparableFrom: [],
            games: 12,
          },
          {
            system: 'sys-alpha',
            strength: 0.577,
            score: 904.6,
            low: 800,
            high: 980,
            rank: 2,
            notSeparableFrom: [],
            games: 12,
          },
        ],
        regularised: true,
      },
    ],
    agreement: [{ campaign: 'pilot', criteria: [agreement('helpful'), agreement('safe')] }],
    datasetAgreement: [],
    models: [
      {
        model: 'sys-alpha',
        samples: 10,
        rewards: [
          {
            name: hostile,
            n: 4,
            mean: 0.5,
            sd: 0.2,
            bins: [
              { low: 0, high: 0.5, count: 2 },
              { low: 0.5, high: 1, count: 2 },
            ],
          },
        ],
        distinct1: 0.61,
        distinct2: 0.83,
        distinct3: 0.9,
        meanLength: 5.5,
        sdLength: 1.2,
      },
      {
        model: 'sys-beta',
        samples: 6,
        rewards: [],
        distinct1: 0.7,
        distinct2: 0.9,
        distinct3: 1,
        meanLength: 4,
        sdLength: null,
      },
    ],
    runs: [
      {
        runId: 1,
        algo: 'a_lol',
        outModel: 'sys-beta',
        status: 'succeeded',
        step: 3,
        totalSteps: 3,
        metrics: [
          { name: 'loss', steps: [1, 2, 3], values: [2.5, 2.1, 1.9] },
          { name: `</style><script>alert(1)</script>`, steps: [1], values: [0.5] },
        ],
      },
    ],
  });
}

describe('reportHtml', () => {
  const html = reportHtml(sample(), { generatedAt: new Date('2025-01-02T03:04:05Z'), version: '9.9.9' });

  it('is one self-contained file: no script, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    // No tag points anywhere or handles an event. Escaped text has no '<' or '"', so tags and quoted values parse exactly.
    const tags = [...html.matchAll(/<[a-zA-Z][\w-]*((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*\/?>/g)];
    expect(tags).toHaveLength(html.match(/<[a-zA-Z]/g)?.length ?? 0);
    const attributes = tags.flatMap((tag) =>
      [...(tag[1] ?? '').matchAll(/([\w:-]+)(?:="[^"]*")?/g)].map((a) => (a[1] ?? '').toLowerCase()),
    );
    expect(attributes).toContain('viewbox');
    expect(attributes.filter((a) => a === 'src' || a === 'href' || a.startsWith('on'))).toEqual([]);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*https?:/i);
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).toContain('<style>');
  });

  it('escapes every text: a reward or metric name comes through as text', () => {
    expect(html).toContain(escapeXml(hostile));
    expect(html).toContain('&lt;/style&gt;&lt;script&gt;');
    expect(html.match(/<\/style>/g)).toHaveLength(1);
  });

  it('shows the systems, the win rates with their intervals, the leaderboard and charts', () => {
    for (const system of ['sys-alpha', 'sys-beta']) expect(html).toContain(system);
    expect(html).toContain('66.7%');
    expect(html).toContain('[41.7%, 87.5%]');
    expect(html).toContain('25.0%');
    // Both good and both bad beside win/tie/loss, and the pair's separability in the same words as the leaderboard's.
    expect(html).toContain('8.3% <span class="muted">(1)</span>');
    expect(html).toContain('25.0% <span class="muted">(3)</span>');
    expect(html).toContain('<span class="muted">not separable</span>');
    expect(html).toContain('sys-beta ahead');
    expect(html).toContain(escapeXml(SEPARATION_RULE));
    expect(html).toContain('1060.2');
    expect(html).toContain('[990.5, 1140.1]');
    expect(html).toMatch(/shrunk towards the average/);
    expect(html).toContain('0.610');
    expect(html).toContain('Run #1');
    // Win-rate and leaderboard bars per criterion, one histogram, two curves.
    expect(html.match(/<svg /g)?.length).toBe(2 + 2 + 1 + 2);
    expect(html).toContain('2025-01-02T03:04:05.000Z');
  });
});

describe('svg charts', () => {
  it('put round ticks around the values', () => {
    expect(niceAxis(0.03, 0.97, 5)).toEqual({ min: 0, max: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(niceAxis(5, 5).ticks).toContain(5);
  });

  it('draw bars with whiskers, histograms and lines, and say so when there is nothing', () => {
    const bars = intervalChart(
      [
        { label: 'a <b>', value: 0.6, low: 0.4, high: 0.8 },
        { label: 'c', value: null, low: null, high: null },
      ],
      { min: 0, max: 1, reference: 0.5, label: 'x' },
    );
    expect(bars).toContain('a &lt;b&gt;');
    expect(bars.match(/class="whisker"/g)).toHaveLength(3);
    expect(bars).toContain('no data');
    expect(histogramChart([], { label: 'h' })).toContain('no values');
    expect(histogramChart([{ low: 0, high: 1, count: 3 }], { label: 'h' })).toContain('<rect');
    expect(lineChart([1, 2], [3, 4], { label: 'l' })).toContain('<polyline');
    expect(lineChart([], [], { label: 'l' })).toContain('no points');
    // A curve of 300,000 steps (a long run) draws: its extremes are not spread into Math.max.
    const steps = Array.from({ length: 300_000 }, (_, i) => i + 1);
    const long = lineChart(
      steps,
      steps.map((s) => 1 / s),
      { label: 'long' },
    );
    expect(long).toContain('<polyline');
    expect(long).toContain('300k');
  });
});
