/** `alol report --out FILE.html [--campaign C]`: the Results screen as one static HTML file (results.report). */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { existingFolder } from '../../core/outputPath';
import { call, defined, integer, print, required, text, type Command } from '../kit';

export const reportCommand: Command = {
  options: {
    out: { type: 'string' },
    campaign: { type: 'string' },
    seed: { type: 'string' },
    reps: { type: 'string' },
  },
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
    // Checked before the report is computed: a mistyped folder is named, not an ENOENT after the work.
    existingFolder(out);
    const report = await call(
      backend,
      'results.report',
      defined({ campaign: text(values, 'campaign'), seed: integer(values, 'seed'), reps: integer(values, 'reps') }),
    );
    writeFileSync(out, report.html);
    print(
      values.json === true,
      {
        path: out,
        bytes: Buffer.byteLength(report.html),
        campaigns: report.campaigns,
        systems: report.systems,
        comparisons: report.comparisons,
      },
      () =>
        `Report written to ${out}: ${report.systems.length} systems, ${report.comparisons} rated comparisons, ${report.models} models, ${report.runs} runs`,
    );
  },
};
