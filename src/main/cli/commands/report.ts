/** `alol report --out FILE.html [--campaign C]`: the Results screen as one static HTML file. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { call, defined, integer, print, required, text, type Command } from '../kit';
import { reportHtml } from '../../report/html';
import { version } from '../../core/version';

export const reportCommand: Command = {
  options: { out: { type: 'string' }, campaign: { type: 'string' }, seed: { type: 'string' }, reps: { type: 'string' } },
  help: () =>
    [
      'Usage: alol report --out FILE.html [--campaign C] [--seed 0] [--reps 500] [--json]',
      '',
      '  --out       the HTML file to write (one file: inline styles and SVG charts, no script, nothing fetched)',
      '  --campaign  one campaign (default: every campaign pooled)',
      '  --seed      seed of the bootstrap intervals (default 0)',
      '  --reps      bootstrap replicates (default 500)',
    ].join('\n'),
  async run(backend, values) {
    const out = resolve(required(values, 'out', 'report'));
    const results = await call(backend, 'results.get', defined({ campaign: text(values, 'campaign'), seed: integer(values, 'seed'), reps: integer(values, 'reps') }));
    const html = reportHtml(results, { generatedAt: new Date(), version });
    writeFileSync(out, html);
    const comparisons = results.criteria[0]?.comparisons ?? 0;
    print(values.json === true, { path: out, bytes: Buffer.byteLength(html), campaigns: results.campaigns, systems: results.systems, comparisons }, () =>
      `Report written to ${out}: ${results.systems.length} systems, ${comparisons} rated comparisons, ${results.models.length} models, ${results.runs.length} runs`,
    );
  },
};
