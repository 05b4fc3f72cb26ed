/**
 * Results as one static HTML file (`alol report --out report.html`): inline CSS, inline SVG charts
 * (svg.ts), tables; no script, nothing fetched (its own Content-Security-Policy allows only inline
 * style), every text escaped. Opens the same in any browser, offline, years later.
 *
 *   reportHtml(results, { generatedAt: new Date(), version: '0.1.0' })  // '<!doctype html>...'
 */
import type { Output } from '../../shared/contract';
import type { AgreementSummary } from '../../shared/rating';
import type { CriterionResults, ModelResults, RateInterval, Results, RunCurves } from '../../shared/results';
import { shortNumber } from '../../shared/chartMath';
import { maxOf } from '../../shared/extent';
import { escapeXml as esc, histogramChart, intervalChart, lineChart } from './svg';
import { SEPARATION_RULE } from '../../shared/results';

export interface ReportOptions {
  generatedAt: Date;
  version: string;
}

const CRITERION_TITLES: Record<string, string> = { helpful: 'Helpfulness', safe: 'Safety' };

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`;
}

function fixed(value: number | null, digits = 3): string {
  return value === null ? '–' : value.toFixed(digits);
}

function interval(ci: RateInterval, format: (v: number | null) => string): string {
  return ci.low === null || ci.high === null ? '–' : `[${format(ci.low)}, ${format(ci.high)}]`;
}

/** A table from header cells and rows of cells, all already escaped; numeric columns right-aligned. */
function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number> = new Set(),
): string {
  const cls = (i: number) => (numeric.has(i) ? ' class="num"' : '');
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${cell}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function winRates(c: CriterionResults): string {
  if (c.pairs.length === 0) return '<p class="muted">Fewer than two systems: nothing to compare.</p>';
  const rows = c.pairs.map((p) => [
    `${esc(p.a)} <span class="muted">vs</span> ${esc(p.b)}`,
    String(p.wins),
    String(p.ties),
    String(p.losses),
    `${percent(p.bothGoodRate)} <span class="muted">(${p.bothGood})</span>`,
    `${percent(p.bothBadRate)} <span class="muted">(${p.bothBad})</span>`,
    String(p.n),
    `<strong>${percent(p.winRate)}</strong>`,
    interval(p.ci, percent),
    p.n === 0
      ? '<span class="muted">never met</span>'
      : p.ahead === null
        ? '<span class="muted">not separable</span>'
        : `${esc(p.ahead)} ahead`,
  ]);
  const chart = intervalChart(
    c.pairs.map((p) => ({
      label: `${p.a} vs ${p.b}`,
      value: p.winRate,
      low: p.ci.low,
      high: p.ci.high,
      note:
        p.winRate === null
          ? 'never compared'
          : `${percent(p.winRate)} (n = ${p.n})${p.ahead === null ? ', not separable' : ''}`,
    })),
    {
      min: 0,
      max: 1,
      reference: 0.5,
      label: `${CRITERION_TITLES[c.criterion] ?? c.criterion}: win rate of the first system of each pair, with 95% bootstrap intervals`,
      format: (v) => `${Math.round(v * 100)}%`,
    },
  );
  return `${table(['Pair (a vs b)', 'a wins', 'ties', 'a loses', 'both good', 'both bad', 'n', 'a’s win rate', '95% interval', 'separable'], rows, new Set([1, 2, 3, 4, 5, 6, 7]))}<figure>${chart}<figcaption>Win rate of a over b, a tie counted as half a win; whiskers are 95% bootstrap intervals over rated items; the line marks 50%.</figcaption></figure>`;
}

function leaderboard(c: CriterionResults): string {
  if (c.leaderboard.length === 0) return '<p class="muted">No comparisons yet.</p>';
  const rows = c.leaderboard.map((r) => [
    String(r.rank),
    esc(r.system),
    `<strong>${r.score.toFixed(1)}</strong>`,
    `[${r.low.toFixed(1)}, ${r.high.toFixed(1)}]`,
    String(r.games),
    r.notSeparableFrom.length === 0 ? '–' : r.notSeparableFrom.map(esc).join(', '),
  ]);
  const chart = intervalChart(
    c.leaderboard.map((r) => ({
      label: `${r.rank}. ${r.system}`,
      value: r.score,
      low: r.low,
      high: r.high,
      note: r.score.toFixed(1),
    })),
    {
      reference: 1000,
      label: `${CRITERION_TITLES[c.criterion] ?? c.criterion}: Bradley-Terry scores with 95% bootstrap intervals`,
      format: (v) => String(Math.round(v)),
    },
  );
  const note = c.regularised
    ? '<p class="note">Some system won or lost every comparison against the rest (or never met it): its score was shrunk towards the average by one virtual game, half won, against an average system, so it is less extreme than the data alone would say.</p>'
    : '';
  return `${table(['Rank', 'System', 'Score', '95% interval', 'Comparisons', 'Not separable from'], rows, new Set([0, 2, 4]))}${note}<figure>${chart}<figcaption>Elo-like scale: the average system at 1000, 400 points = 10:1 odds. ${esc(SEPARATION_RULE)}</figcaption></figure>`;
}

function agreement(campaign: string, summaries: readonly AgreementSummary[]): string {
  const rows = summaries.map((a) => [
    esc(CRITERION_TITLES[a.criterion] ?? a.criterion),
    String(a.items),
    fixed(a.raw.estimate),
    `${fixed(a.cohen.estimate)} <span class="muted">${interval(a.cohen, fixed)}</span>`,
    `${fixed(a.fleiss.estimate)} <span class="muted">${interval(a.fleiss, fixed)}</span>`,
    `${fixed(a.alpha.estimate)} <span class="muted">${interval(a.alpha, fixed)}</span>`,
  ]);
  const annotators = summaries.flatMap((a) =>
    a.annotators.map((x) => [
      esc(x.annotator),
      esc(CRITERION_TITLES[a.criterion] ?? a.criterion),
      String(x.n),
      fixed(x.agreement),
      fixed(x.goldAccuracy),
      fixed(x.selfConsistency),
      fixed(x.positionBias),
    ]),
  );
  return `<h3>Campaign ${esc(campaign)}</h3>${table(['Criterion', 'Overlap items', 'Raw', 'Cohen’s κ', 'Fleiss’ κ', 'Krippendorff’s α'], rows, new Set([1, 2]))}${
    annotators.length > 0
      ? table(
          ['Annotator', 'Criterion', 'Items', 'Agreement', 'Gold accuracy', 'Self-consistency', 'Chose left'],
          annotators,
          new Set([2, 3, 4, 5, 6]),
        )
      : ''
  }`;
}

/** Relabelling campaigns: how often annotators agree with the dataset's own chosen response (datasetAgreement.ts). */
function datasetAgreement(entries: Results['datasetAgreement']): string {
  return entries
    .map((e) => {
      const rows = e.criteria.map((a) => [
        esc(CRITERION_TITLES[a.criterion] ?? a.criterion),
        `${percent(a.estimate)} <span class="muted">${interval(a, percent)}</span>`,
        `${a.agreed} of ${a.decisive}`,
        String(a.bothGood),
        String(a.bothBad),
      ]);
      return `<h3>Campaign ${esc(e.campaign)}, dataset ${esc(e.dataset)}</h3>${table(['Criterion', 'Agrees with the dataset', 'Decisive answers', 'Both good', 'Both bad'], rows, new Set([1, 2, 3, 4]))}`;
    })
    .join('');
}

function models(list: readonly ModelResults[]): string {
  if (list.length === 0) return '<p class="muted">No model has sampled responses.</p>';
  const rows = list.map((m) => [
    esc(m.model),
    String(m.samples),
    m.meanLength === null
      ? '–'
      : `${m.meanLength.toFixed(1)}${m.sdLength === null ? '' : ` <span class="muted">± ${m.sdLength.toFixed(1)}</span>`}`,
    fixed(m.distinct1),
    fixed(m.distinct2),
    fixed(m.distinct3),
  ]);
  const out = [
    table(
      ['Model', 'Samples', 'Words per response', 'Distinct-1', 'Distinct-2', 'Distinct-3'],
      rows,
      new Set([1, 2, 3, 4, 5]),
    ),
  ];
  const names = [...new Set(list.flatMap((m) => m.rewards.map((r) => r.name)))].sort();
  for (const name of names) {
    const withIt = list.flatMap((m, i) =>
      m.rewards.filter((r) => r.name === name).map((r) => ({ model: m.model, colour: i, r })),
    );
    const maxCount = maxOf(withIt.flatMap(({ r }) => r.bins.map((b) => b.count)));
    out.push(
      `<h3>Reward <code>${esc(name)}</code></h3><div class="charts">${withIt
        .map(
          ({ model, colour, r }) =>
            `<figure>${histogramChart(r.bins, { label: `${name} over ${model}'s samples`, colour, maxCount })}<figcaption><strong>${esc(model)}</strong>: mean ${fixed(r.mean)}${r.sd === null ? '' : ` ± ${fixed(r.sd)}`} (n = ${r.n})</figcaption></figure>`,
        )
        .join('')}</div>`,
    );
  }
  if (names.length === 0) out.push('<p class="muted">No sample was scored with a reward (alol sample --reward …).</p>');
  return out.join('');
}

function curves(runs: readonly RunCurves[]): string {
  if (runs.length === 0) return '<p class="muted">No training run logged metrics for these models.</p>';
  return runs
    .map(
      (run) =>
        `<h3>Run #${run.runId}: <code>${esc(run.algo)}</code> → ${esc(run.outModel)} <span class="muted">(${esc(run.status)}, step ${run.step}${run.totalSteps === null ? '' : ` of ${run.totalSteps}`})</span></h3><div class="charts">${run.metrics
          .map(
            (m) =>
              `<figure>${lineChart(m.steps, m.values, { label: `${m.name} over steps of run ${run.runId}` })}<figcaption><code>${esc(m.name)}</code> last ${m.values.length === 0 ? '–' : esc(shortNumber(m.values.at(-1) as number))}</figcaption></figure>`,
          )
          .join('')}</div>`,
    )
    .join('');
}

const STYLE = `
:root { color-scheme: light; --text: #1d232b; --muted: #5d6776; --border: #dfe3e9; --grid: #e8ebf0; --accent: #2f66c9; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--text); font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
main { max-width: 64rem; margin: 0 auto; padding: 2rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.2rem; margin: 2.25rem 0 0.75rem; padding-bottom: 0.3rem; border-bottom: 1px solid var(--border); }
h3 { font-size: 1rem; margin: 1.5rem 0 0.5rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.muted, figcaption, .meta { color: var(--muted); }
.note { background: #fdf6e7; border: 1px solid #f0dcae; border-radius: 6px; padding: 0.5rem 0.75rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; background: #fff; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--border); }
th { font-size: 0.8rem; color: var(--muted); font-weight: 600; }
.num { text-align: right; }
figure { margin: 0.5rem 0 1rem; background: #fff; border: 1px solid var(--border); border-radius: 6px; padding: 0.6rem; }
figcaption { font-size: 0.85rem; margin-top: 0.25rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 0.75rem; }
.charts figure { margin: 0; }
svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg .grid { stroke: var(--grid); }
svg .axis { stroke: var(--border); }
svg .reference { stroke: var(--muted); stroke-dasharray: 3 3; }
svg .tick { fill: var(--muted); font-size: 10px; }
svg .label, svg .value { fill: var(--text); font-size: 12px; }
svg .whisker { stroke: var(--text); stroke-width: 1.5; }
svg .dot { fill: var(--text); }
svg .bar { opacity: 0.75; }
svg .line { fill: none; stroke-width: 1.6; }
svg .c0 { fill: #2f66c9; stroke: #2f66c9; } svg .c1 { fill: #c2410c; stroke: #c2410c; } svg .c2 { fill: #1b7a3a; stroke: #1b7a3a; }
svg .c3 { fill: #7c3aed; stroke: #7c3aed; } svg .c4 { fill: #b45309; stroke: #b45309; } svg .c5 { fill: #0e7490; stroke: #0e7490; }
svg .line.c0, svg .line.c1, svg .line.c2, svg .line.c3, svg .line.c4, svg .line.c5 { fill: none; }
footer { margin-top: 2.5rem; font-size: 0.85rem; color: var(--muted); }
`;

/**
 * results.report's answer: the report, the file name a browser saves it as, and what it covers.
 *
 *   resultsReport(results, { generatedAt: new Date(), version })  // { html: '<!doctype html>...', filename: 'results-pilot.html', ... }
 */
export function resultsReport(results: Results, options: ReportOptions): Output<'results.report'> {
  const scope = results.campaign ?? 'all-campaigns';
  return {
    html: reportHtml(results, options),
    filename: `results-${scope.replace(/[^\p{L}\p{N}._-]+/gu, '-')}.html`,
    campaigns: results.campaigns,
    systems: results.systems,
    comparisons: results.criteria[0]?.comparisons ?? 0,
    models: results.models.length,
    runs: results.runs.length,
  };
}

/** The whole report as one HTML document. */
export function reportHtml(results: Results, options: ReportOptions): string {
  const scope =
    results.campaign === null ? `all campaigns (${results.campaigns.length})` : `campaign ${results.campaign}`;
  const comparisons = results.criteria[0]?.comparisons ?? 0;
  const sections = [
    `<header><h1>Results: ${esc(scope)}</h1><p class="meta">Systems: ${results.systems.length === 0 ? 'none' : results.systems.map((s) => `<strong>${esc(s)}</strong>`).join(', ')} · ${comparisons} rated comparisons${
      results.campaign === null && results.campaigns.length > 0
        ? ` · campaigns: ${results.campaigns.map(esc).join(', ')}`
        : ''
    } · generated ${esc(options.generatedAt.toISOString())} by A-LoL Studio ${esc(options.version)} (bootstrap seed ${results.seed}, ${results.reps} replicates)</p></header>`,
    `<section id="win-rates"><h2>Win rates</h2><p>${esc(SEPARATION_RULE)}</p>${results.criteria.map((c) => `<h3>${esc(CRITERION_TITLES[c.criterion] ?? c.criterion)}</h3>${winRates(c)}`).join('')}</section>`,
    `<section id="leaderboard"><h2>Leaderboard (Bradley-Terry)</h2>${results.criteria.map((c) => `<h3>${esc(CRITERION_TITLES[c.criterion] ?? c.criterion)}</h3>${leaderboard(c)}`).join('')}</section>`,
    `<section id="agreement"><h2>Agreement between annotators</h2>${results.agreement.length === 0 ? '<p class="muted">No campaign.</p>' : results.agreement.map((a) => agreement(a.campaign, a.criteria)).join('')}</section>`,
    ...(results.datasetAgreement.length > 0
      ? [
          `<section id="dataset-agreement"><h2>Agreement with the dataset</h2><p>Of the answers that picked a response, the share that picked the dataset’s own chosen one, with a Wilson 95% interval; both good and both bad pick neither and are counted apart.</p>${datasetAgreement(results.datasetAgreement)}</section>`,
        ]
      : []),
    `<section id="models"><h2>Sampled responses per model</h2>${models(results.models)}</section>`,
    `<section id="training"><h2>Training curves</h2>${curves(results.runs)}</section>`,
    `<footer><p>Comparisons are the first ratings of pair items (not gold items, swapped repeats, skipped or flagged ones). Per criterion, “both good” and “both bad” are ties, counted as half a win to each side. Both good and both bad are also counted apart, per pair. Bradley-Terry strengths are fitted by MM with ties as half wins. One percentile bootstrap over rated items (all of an item’s ratings travel together) gives the 95% intervals of the win rates and of the scores; a pair is separable when its win-rate interval excludes 50%, and a system’s rank is 1 + the systems ahead of it on a separable pair. Distinct-n is corpus-level over lower-cased whitespace tokens.</p></footer>`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`A-LoL Studio results: ${scope}`)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${sections.join('\n')}
</main></body>
</html>
`;
}
