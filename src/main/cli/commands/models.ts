/** `alol models`, `alol model new|import|export`, `alol tokenize`, `alol logprobs`, `alol generate`. */
import { resolve } from 'node:path';
import type { Input, ModelSummary } from '../../../shared/contract';
import { formatTable } from '../format';
import { formatFlag, formatLine, formatOption } from '../promptFormat';
import {
  call,
  decimal,
  defined,
  followJob,
  integer,
  print,
  required,
  text,
  UsageError,
  type Command,
  type Values,
} from '../kit';

export function decodingSettings(values: Values): Input<'models.generate'>['settings'] {
  const sampling = ['temperature', 'top-k', 'top-p'].some((f) => text(values, f) !== undefined);
  if (values.greedy === true && sampling)
    throw new UsageError('--greedy does not go with --temperature, --top-k or --top-p');
  return defined({
    maxNewTokens: integer(values, 'max-new-tokens'),
    greedy: !sampling,
    temperature: decimal(values, 'temperature'),
    topK: integer(values, 'top-k'),
    topP: decimal(values, 'top-p'),
    repetitionPenalty: decimal(values, 'repetition-penalty'),
    stop: Array.isArray(values.stop) ? values.stop.map(String) : undefined,
    seed: integer(values, 'seed'),
  });
}

const MODEL_COLUMNS = [
  'name',
  'origin',
  'family',
  'parameters',
  'dtype',
  'context',
  'chat template',
  'shape',
  'tokenizer',
];

function formatModel(m: ModelSummary): string[] {
  const s = m.shape;
  const heads = s.kvHeads === s.heads ? `${s.heads} heads` : `${s.heads} heads (${s.kvHeads} kv)`;
  return [
    m.name,
    m.origin,
    s.family,
    `${(m.parameters / 1e6).toFixed(2)}M`,
    m.dtype,
    String(s.context),
    m.chatTemplate ? 'yes' : 'no',
    `${s.layers}x${s.dim}, ${heads}, ffn ${s.ffn}`,
    m.tokenizer,
  ];
}

function architecture(values: Values): 'gpt2' | 'llama' | undefined {
  const arch = text(values, 'arch');
  if (arch === undefined || arch === 'gpt2' || arch === 'llama') return arch;
  throw new UsageError(`--arch: gpt2 or llama, not "${arch}"`);
}

export const modelsCommands: Record<string, Command> = {
  models: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'models.list', {});
      print(values.json === true, list, () =>
        list.length === 0
          ? 'No models yet: alol model new --name N --data DATASET, or alol model import DIR --name N'
          : formatTable(MODEL_COLUMNS, list.map(formatModel)),
      );
    },
  },
  'model new': {
    options: {
      name: { type: 'string' },
      data: { type: 'string' },
      version: { type: 'string' },
      arch: { type: 'string' },
      layers: { type: 'string' },
      dim: { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      ffn: { type: 'string' },
      context: { type: 'string' },
      vocab: { type: 'string' },
      seed: { type: 'string' },
    },
    async run(backend, values) {
      const input = {
        name: required(values, 'name', 'model new'),
        dataset: required(values, 'data', 'model new'),
        ...defined({
          version: integer(values, 'version'),
          arch: architecture(values),
          layers: integer(values, 'layers'),
          dim: integer(values, 'dim'),
          heads: integer(values, 'heads'),
          kvHeads: integer(values, 'kv-heads'),
          ffn: integer(values, 'ffn'),
          context: integer(values, 'context'),
          vocab: integer(values, 'vocab'),
          seed: integer(values, 'seed'),
        }),
      };
      const json = values.json === true;
      const model = await followJob(backend, json, 'model.create', () => call(backend, 'models.create', input));
      print(json, model, () => `Created ${formatModel(model).join('  ')}`);
    },
  },
  'model import': {
    options: { name: { type: 'string' } },
    async run(backend, values, positionals) {
      const dir = positionals[0];
      if (!dir || positionals.length > 1) throw new UsageError('model import: give exactly one DIR');
      const json = values.json === true;
      const input = { path: resolve(dir), name: required(values, 'name', 'model import') };
      const model = await followJob(backend, json, 'model.import', () => call(backend, 'models.import', input));
      print(json, model, () => `Imported ${formatModel(model).join('  ')}`);
    },
  },
  'model export': {
    options: { dtype: { type: 'string' } },
    async run(backend, values, positionals) {
      const [model, dir] = positionals;
      if (!model || !dir || positionals.length > 2) throw new UsageError('model export: give a model NAME and a DIR');
      const dtype = text(values, 'dtype');
      if (dtype !== undefined && dtype !== 'f32' && dtype !== 'bf16')
        throw new UsageError(`--dtype: f32 or bf16, not "${dtype}"`);
      const out = await call(backend, 'models.export', { model, path: resolve(dir), ...defined({ dtype }) });
      print(values.json === true, out, () => `Wrote ${out.files.join(', ')} to ${out.folder}`);
    },
  },
  'model merge': {
    options: { adapter: { type: 'string' }, out: { type: 'string' } },
    async run(backend, values, positionals) {
      const [model] = positionals;
      if (!model || positionals.length > 1)
        throw new UsageError('model merge: give the base model NAME, --adapter DIR (a PEFT folder) and --out NEW');
      const adapter = resolve(required(values, 'adapter', 'model merge'));
      const out = await call(backend, 'models.merge', { model, adapter, out: required(values, 'out', 'model merge') });
      print(values.json === true, out, () => `Merged ${formatModel(out).join('  ')}`);
    },
  },
  tokenize: {
    options: { model: { type: 'string' }, text: { type: 'string' } },
    async run(backend, values) {
      const out = await call(backend, 'models.tokenize', {
        model: required(values, 'model', 'tokenize'),
        text: required(values, 'text', 'tokenize'),
      });
      print(values.json === true, out, () =>
        out.ids.map((id, i) => `${id}\t${JSON.stringify(out.tokens[i])}`).join('\n'),
      );
    },
  },
  logprobs: {
    options: { model: { type: 'string' }, text: { type: 'string' }, ids: { type: 'string' } },
    async run(backend, values) {
      const idsText = text(values, 'ids');
      const ids = idsText?.split(',').map((part) => {
        const n = Number(part.trim());
        if (!Number.isInteger(n) || n < 0)
          throw new UsageError(`--ids: expected whole numbers separated by commas, got "${part}"`);
        return n;
      });
      if ((ids === undefined) === (text(values, 'text') === undefined))
        throw new UsageError('logprobs: give --text or --ids');
      const json = values.json === true;
      const input = { model: required(values, 'model', 'logprobs'), ...defined({ text: text(values, 'text'), ids }) };
      const { ids: scored, logprobs } = await followJob(backend, json, 'logprobs', () =>
        call(backend, 'models.logprobs', input),
      );
      const out = { ids: scored, logprobs };
      print(json, out, () => out.logprobs.map((lp, i) => `${out.ids[i + 1]}\t${lp.toFixed(4)}`).join('\n'));
    },
  },
  generate: {
    options: {
      model: { type: 'string' },
      prompt: { type: 'string', multiple: true },
      'max-new-tokens': { type: 'string' },
      greedy: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      stop: { type: 'string', multiple: true },
      seed: { type: 'string' },
      ...formatOption,
    },
    async run(backend, values) {
      const prompts = Array.isArray(values.prompt) ? values.prompt.map(String) : [];
      if (prompts.length === 0) throw new UsageError('generate: --prompt is required');
      const settings = decodingSettings(values);
      const json = values.json === true;
      const model = required(values, 'model', 'generate');
      const asked = formatFlag(values, 'generate');
      const {
        generations,
        tensorBackend,
        format = 'raw',
      } = await followJob(backend, json, 'generate', () =>
        call(backend, 'models.generate', { model, prompts, settings, ...(asked ? { format: asked } : {}) }),
      );
      const lines = generations.map((g) => ({ ...g, model, format, tensorBackend }));
      const note = json ? '' : await formatLine(backend, model, format);
      print(json, lines.length === 1 ? lines[0] : lines, () =>
        [generations.map((g) => g.prompt + g.response).join('\n---\n'), note].join('\n'),
      );
    },
  },
};
