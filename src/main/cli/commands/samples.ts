/** `alol sample` and `alol score`: responses from a model into the project, and rewards for responses. */
import { decodingSettings } from './models';
import { resolve } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { type Input } from '../../../shared/contract';
import { formatFlag, formatOption, formatLine } from '../promptFormat';
import { call, defined, followJob, integer, print, required, text, UsageError, type Command } from '../kit';

function readJsonlField(file: string, field: string): string[] {
  return readFileSync(resolve(file), 'utf8')
    .split('\n')
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => line.trim() !== '')
    .map(([line, n]) => {
      let value: unknown;
      try {
        value = (JSON.parse(line) as Record<string, unknown>)[field];
      } catch {
        throw new UsageError(`${file}:${n}: not valid JSON`);
      }
      if (typeof value !== 'string') throw new UsageError(`${file}:${n} field "${field}": expected a string`);
      return value;
    });
}

export const samplesCommands: Record<string, Command> = {
  sample: {
    options: {
      model: { type: 'string' },
      prompts: { type: 'string' },
      'prompts-file': { type: 'string' },
      n: { type: 'string' },
      greedy: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      'max-new-tokens': { type: 'string' },
      seed: { type: 'string' },
      reward: { type: 'string' },
      out: { type: 'string' },
      ...formatOption,
    },
    async run(backend, values) {
      const spec = text(values, 'prompts');
      const file = text(values, 'prompts-file');
      if ((spec === undefined) === (file === undefined))
        throw new UsageError('sample: give --prompts DATASET[:split] or --prompts-file FILE.jsonl');
      let prompts: Input<'samples.create'>['prompts'];
      if (spec !== undefined) {
        const [dataset = '', split] = spec.split(':');
        prompts = { dataset, ...(split ? { split } : {}) };
      } else prompts = { texts: readJsonlField(file as string, 'prompt') };
      const json = values.json === true;
      const model = required(values, 'model', 'sample');
      const result = await followJob(backend, json, 'sample', () =>
        call(backend, 'samples.create', {
          model,
          prompts,
          ...defined({ n: integer(values, 'n'), reward: text(values, 'reward'), format: formatFlag(values, 'sample') }),
          settings: decodingSettings(values),
        }),
      );
      const rows = (await call(backend, 'samples.list', { source: result.source, limit: 10_000 })).rows;
      const lines = rows.map((s) =>
        JSON.stringify({
          prompt: s.prompt,
          response: s.response,
          model: s.model,
          finishReason: s.finishReason,
          format: s.format,
          rewards: s.rewards,
          settings: s.settings,
        }),
      );
      const out = text(values, 'out');
      if (out) writeFileSync(resolve(out), lines.join('\n') + '\n');
      if (json) console.log(lines.join('\n'));
      else
        console.log(
          `${rows.length} responses from ${model} stored (${result.source})${out ? `, written to ${out}` : ''}${result.reward !== undefined ? `; mean ${result.reward} ${result.meanReward?.toFixed(4) ?? '-'}` : ''}\n${await formatLine(backend, model, result.format ?? 'raw')}`,
        );
    },
  },
  score: {
    options: { dataset: { type: 'string' }, file: { type: 'string' }, reward: { type: 'string' } },
    async run(backend, values) {
      const dataset = text(values, 'dataset');
      const file = text(values, 'file');
      if ((dataset === undefined) === (file === undefined))
        throw new UsageError('score: give --dataset DATASET or --file FILE.jsonl');
      const prompts = file ? readJsonlField(file, 'prompt') : [];
      const responses = file ? readJsonlField(file, 'response') : [];
      const out = await call(backend, 'rewards.score', {
        reward: required(values, 'reward', 'score'),
        ...(dataset ? { dataset } : { items: prompts.map((prompt, i) => ({ prompt, response: responses[i] ?? '' })) }),
      });
      print(
        values.json === true,
        out,
        () => `${out.count} responses scored by ${out.source}: mean ${out.mean?.toFixed(4) ?? '-'}`,
      );
    },
  },
};
