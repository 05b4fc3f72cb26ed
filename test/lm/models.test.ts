/**
 * Models through the backend, as every adapter reaches them: created from a dataset (a trained
 * tokenizer and seeded weights), listed, tokenized, scored and decoded in real job processes,
 * exported as a Hugging Face folder and imported back unchanged.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { call, importPath, jobOf, useBackends } from '../helpers/backend';
import { writeDialogues } from '../helpers/demoText';
import { useTempDir } from '../helpers/tempDir';
import { ModelSummary, type Input, type MethodName } from '../../src/shared/contract';
import { readSafetensors } from '../../src/main/lm/safetensors';

const tempDir = useTempDir();
const openBackend = useBackends();

function job<M extends MethodName>(backend: Backend, method: M, input: Input<M>) {
  return jobOf(backend, () => call(backend, method, input) as Promise<{ jobId: number }>);
}

async function withDataset(): Promise<Backend> {
  const backend = openBackend(tempDir());
  const imported = await importPath(backend, writeDialogues(join(tempDir(), 'dialogues.jsonl')), 'dialogues');
  expect(imported.status).toBe('succeeded');
  return backend;
}

const tiny = { dataset: 'dialogues', layers: 1, dim: 32, heads: 2, context: 64, vocab: 300, seed: 7 };

describe('models', () => {
  it('creates a model from a dataset: a trained tokenizer and seeded weights, in the project', async () => {
    const backend = await withDataset();
    const done = await job(backend, 'models.create', { name: 'tiny', ...tiny });
    expect(done.error).toBeNull();
    const model = ModelSummary.parse(done.result);
    expect(model).toMatchObject({
      name: 'tiny',
      origin: 'created',
      source: 'dialogues v1',
      shape: { vocab: 300, layers: 1, dim: 32, heads: 2, context: 64 },
    });
    // wte 300x32 + wpe 64x32 + one block + ln_f, as GPT-2 counts them.
    const d = 32;
    expect(model.parameters).toBe(
      300 * d + 64 * d + (2 * d + d * 3 * d + 3 * d + d * d + d + 2 * d + d * 4 * d + 4 * d + 4 * d * d + d) + 2 * d,
    );
    const folder = join(backend.paths.models, model.folder);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json'])
      expect(existsSync(join(folder, file))).toBe(true);
    expect(await call(backend, 'models.list', {})).toEqual([model]);

    const again = await job(backend, 'models.create', { name: 'tiny-again', ...tiny });
    const twin = ModelSummary.parse(again.result);
    // Same data and seed: the same tokenizer and bit-identical weights.
    expect(readFileSync(join(backend.paths.models, twin.folder, 'model.safetensors'))).toEqual(
      readFileSync(join(folder, 'model.safetensors')),
    );
    expect(readFileSync(join(backend.paths.models, twin.folder, 'tokenizer.json'), 'utf8')).toBe(
      readFileSync(join(folder, 'tokenizer.json'), 'utf8'),
    );
  });

  it('tokenizes, scores and generates with a model, and refuses bad requests', async () => {
    const backend = await withDataset();
    await job(backend, 'models.create', { name: 'tiny', ...tiny });
    const { ids, tokens } = await call(backend, 'models.tokenize', {
      model: 'tiny',
      text: 'Here is a fact about apples',
    });
    expect(ids.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe('Here is a fact about apples');

    const scored = await job(backend, 'models.logprobs', { model: 'tiny', ids });
    expect(scored.status).toBe('succeeded');
    const logprobs = scored.result?.logprobs as number[];
    expect(logprobs).toHaveLength(ids.length - 1);
    for (const lp of logprobs) {
      expect(lp).toBeLessThan(0);
      expect(Number.isFinite(lp)).toBe(true);
    }

    const generated = await job(backend, 'models.generate', {
      model: 'tiny',
      prompts: ['\n\nHuman: Tell me about rivers.\n\nAssistant:', 'Hi'],
      settings: { maxNewTokens: 6 },
    });
    expect(generated.status).toBe('succeeded');
    const generations = generated.result?.generations as {
      prompt: string;
      response: string;
      ids: number[];
      finishReason: string;
    }[];
    expect(generations).toHaveLength(2);
    for (const g of generations) {
      expect(['eos', 'stop', 'length']).toContain(g.finishReason);
      expect(g.ids.length).toBeLessThanOrEqual(6);
      if (g.finishReason === 'length') expect(g.ids).toHaveLength(6);
    }
    // Greedy decoding is deterministic.
    const again = await job(backend, 'models.generate', {
      model: 'tiny',
      prompts: ['Hi'],
      settings: { maxNewTokens: 6 },
    });
    expect((again.result?.generations as { ids: number[] }[])[0]?.ids).toEqual(generations[1]?.ids);

    expect(await backend.dispatch('models.tokenize', { model: 'nope', text: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(await backend.dispatch('models.create', { name: 'tiny', ...tiny })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    expect(await backend.dispatch('models.create', { name: 'odd', ...tiny, dim: 33 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });
    const outside = await job(backend, 'models.logprobs', { model: 'tiny', ids: [1, 100000] });
    expect(outside).toMatchObject({ status: 'failed', error: { code: 'invalid_input' } });
  });

  it('exports a Hugging Face folder that imports back with identical weights and log-probs', async () => {
    const backend = await withDataset();
    const created = ModelSummary.parse((await job(backend, 'models.create', { name: 'tiny', ...tiny })).result);
    const out = join(tempDir(), 'exported');
    expect(await call(backend, 'models.export', { model: 'tiny', path: out })).toEqual({
      folder: out,
      files: ['config.json', 'model.safetensors', 'tokenizer.json'],
    });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_layer: 1,
      n_embd: 32,
      n_head: 2,
      n_positions: 64,
      vocab_size: 300,
      activation_function: 'gelu_new',
    });
    expect(await backend.dispatch('models.export', { model: 'tiny', path: out })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });

    const imported = await job(backend, 'models.import', { path: out, name: 'back' });
    expect(imported.error).toBeNull();
    const back = ModelSummary.parse(imported.result);
    expect(back).toMatchObject({
      origin: 'imported',
      source: out,
      shape: created.shape,
      parameters: created.parameters,
    });
    const exported = readSafetensors(join(out, 'model.safetensors')).tensors;
    const reimported = readSafetensors(join(backend.paths.models, back.folder, 'model.safetensors')).tensors;
    expect([...reimported.keys()]).toEqual([...exported.keys()]);
    for (const [name, tensor] of exported) expect(reimported.get(name), name).toEqual(tensor);

    const ids = (await call(backend, 'models.tokenize', { model: 'tiny', text: 'Tell me something about trains' })).ids;
    const a = await job(backend, 'models.logprobs', { model: 'tiny', ids });
    const b = await job(backend, 'models.logprobs', { model: 'back', ids });
    expect(b.result?.logprobs).toEqual(a.result?.logprobs);
  });

  it('reports a folder that is not a model by file and field', async () => {
    const backend = await withDataset();
    // No folder at all is refused before a job starts; a folder without config.json by its job, naming the file.
    await expect(call(backend, 'models.import', { path: join(tempDir(), 'nowhere'), name: 'ghost' })).rejects.toThrow(
      /nowhere does not exist/,
    );
    const empty = join(tempDir(), 'nothing-here');
    mkdirSync(empty);
    const failed = await job(backend, 'models.import', { path: empty, name: 'ghost' });
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toContain(`${join(empty, 'config.json')}: not found`);
    expect(await call(backend, 'models.list', {})).toEqual([]);
  });
});
