/** `alol import`, `alol datasets`, `alol show`, `alol demo data`: datasets in and out of the project. */
import { resolve } from 'node:path';
import type { Input } from '../../../shared/contract';
import { formatImportSummary, formatTable, truncate } from '../format';
import { call, defined, followJob, integer, print, required, text, UsageError, type Command } from '../kit';

const fieldFlags = ['prompt', 'response', 'reward', 'chosen', 'rejected', 'completion', 'label'] as const;

export const dataCommands: Record<string, Command> = {
  import: {
    options: {
      name: { type: 'string' },
      format: { type: 'string', default: 'auto' },
      ...Object.fromEntries(fieldFlags.map((f) => [`${f}-field`, { type: 'string' }])),
    },
    async run(backend, values, positionals) {
      const file = positionals[0];
      if (!file || positionals.length > 1) throw new UsageError('import: give exactly one FILE');
      const fields = Object.fromEntries(
        fieldFlags.flatMap((f) => (text(values, `${f}-field`) ? [[f, text(values, `${f}-field`)]] : [])),
      );
      const json = values.json === true;
      const summary = await followJob(backend, json, 'import', () =>
        call(backend, 'imports.start', {
          source: { kind: 'path', path: resolve(file) },
          name: required(values, 'name', 'import'),
          format: text(values, 'format') as Input<'imports.start'>['format'],
          fields,
        }),
      );
      print(json, summary, () => formatImportSummary(summary));
    },
  },
  datasets: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'datasets.list', {});
      print(values.json === true, list, () =>
        list.length === 0
          ? 'No datasets yet: alol import FILE --name NAME'
          : formatTable(
              ['name', 'version', 'examples', 'pairs', 'format', 'source'],
              list.map((d) => [d.name, String(d.version), String(d.examples), String(d.pairs), d.format, d.sourceFile]),
            ),
      );
    },
  },
  show: {
    options: {
      version: { type: 'string' },
      limit: { type: 'string', default: '10' },
      offset: { type: 'string', default: '0' },
    },
    async run(backend, values, positionals) {
      const dataset = positionals[0];
      if (!dataset) throw new UsageError('show: give a DATASET name');
      const version = integer(values, 'version');
      const which = { dataset, ...(version ? { version } : {}) };
      const page = { ...which, offset: integer(values, 'offset') ?? 0, limit: integer(values, 'limit') ?? 10 };
      const summary = await call(backend, 'datasets.get', which);
      const examples = await call(backend, 'datasets.examples', page);
      const pairs = await call(backend, 'datasets.pairs', page);
      print(values.json === true, { dataset: summary, examples: examples.rows, pairs: pairs.rows }, () =>
        [
          formatImportSummary(summary.summary),
          ...examples.rows.map(
            (e) =>
              `#${e.line} reward=${e.reward ?? '-'}\n  prompt:   ${truncate(e.prompt)}\n  response: ${truncate(e.response)}`,
          ),
          ...pairs.rows.map(
            (p) =>
              `#${p.line}\n  prompt:   ${truncate(p.prompt)}\n  chosen:   ${truncate(p.chosen)}\n  rejected: ${truncate(p.rejected)}`,
          ),
        ].join('\n'),
      );
    },
  },
  'demo data': {
    options: { name: { type: 'string' }, seed: { type: 'string' }, prompts: { type: 'string' } },
    async run(backend, values) {
      const input = {
        name: required(values, 'name', 'demo data'),
        ...defined({ seed: integer(values, 'seed'), trainPrompts: integer(values, 'prompts') }),
      };
      const dataset = await call(backend, 'datasets.demo', input);
      print(values.json === true, dataset, () => formatImportSummary(dataset.summary));
    },
  },
};
