import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { writeDialogues } from '../helpers/demoText';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol model commands', () => {
  it('creates, lists, tokenizes, scores, generates with, exports and imports a model', () => {
    const project = tempDir();
    const p = ['--project', project];
    expect(alol(['import', writeDialogues(join(tempDir(), 'd.jsonl')), '--name', 'demo', ...p]).status).toBe(0);

    const created = alol([
      'model',
      'new',
      '--name',
      'tiny',
      '--data',
      'demo',
      '--layers',
      '1',
      '--dim',
      '32',
      '--heads',
      '2',
      '--context',
      '64',
      '--vocab',
      '300',
      '--seed',
      '3',
      ...p,
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.json()).toMatchObject({ name: 'tiny', origin: 'created', shape: { vocab: 300, layers: 1 } });
    expect(alol(['models', ...p, '--json']).json()).toEqual([expect.objectContaining({ name: 'tiny' })]);
    expect(alol(['models', ...p]).stdout).toMatch(/tiny\s+created/);

    const tokenized = alol(['tokenize', '--model', 'tiny', '--text', 'a fact about rivers', ...p, '--json']).json() as {
      ids: number[];
    };
    expect(tokenized.ids.length).toBeGreaterThan(1);
    expect(tokenized.ids.every((id) => Number.isInteger(id) && id >= 0 && id < 300)).toBe(true);

    const byText = alol(['logprobs', '--model', 'tiny', '--text', 'a fact about rivers', ...p, '--json']).json() as {
      ids: number[];
      logprobs: number[];
    };
    expect(byText.ids).toEqual(tokenized.ids);
    expect(byText.logprobs).toHaveLength(byText.ids.length - 1);
    const byIds = alol(['logprobs', '--model', 'tiny', '--ids', tokenized.ids.join(','), ...p, '--json']).json() as {
      logprobs: number[];
    };
    expect(byIds.logprobs).toEqual(byText.logprobs);
    expect(alol(['logprobs', '--model', 'tiny', ...p]).status).toBe(2);

    const generated = alol([
      'generate',
      '--model',
      'tiny',
      '--prompt',
      'Tell me',
      '--max-new-tokens',
      '5',
      '--seed',
      '1',
      '--temperature',
      '0.8',
      '--top-k',
      '20',
      ...p,
      '--json',
    ]);
    expect(generated.stderr).toBe('');
    expect(generated.json()).toMatchObject({
      prompt: 'Tell me',
      model: 'tiny',
      response: expect.any(String),
      finishReason: expect.stringMatching(/eos|stop|length/),
    });
    expect(
      alol(['generate', '--model', 'tiny', '--prompt', 'Tell me', '--greedy', '--temperature', '2', ...p]).status,
    ).toBe(2);

    const out = join(tempDir(), 'hf');
    expect(alol(['model', 'export', 'tiny', out, ...p]).status).toBe(0);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(out, f))).toBe(true);
    const back = alol(['model', 'import', out, '--name', 'back', ...p, '--json']);
    expect(back.json()).toMatchObject({ name: 'back', origin: 'imported' });
    const again = alol(['logprobs', '--model', 'back', '--text', 'a fact about rivers', ...p, '--json']).json() as {
      logprobs: number[];
    };
    expect(again.logprobs).toEqual(byText.logprobs);

    expect(alol(['model', 'frobnicate', ...p]).status).toBe(2);
    expect(alol(['datasets', '--layers', '3', ...p]).status).toBe(2);
  });
});
