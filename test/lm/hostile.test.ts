/**
 * Hostile model folders and files (issue 15, item 4): a fuzz corpus of broken safetensors, configs,
 * tokenizers and shard indexes, each imported through the real import path (models.import, in a job
 * process, as the studio and the CLI import). Every one is refused with an error that names the
 * file and the key or tensor at fault; none crashes the job process (a crash would be the job's
 * "crashed" error, not these messages) or allocates what its sizes claim: a 100 GB tensor, 10^9
 * layers or a vocabulary of 10^12 are refused from the header or the config, before any tensor is
 * read or any parameter list built. Nothing is stored.
 *
 * NaN and infinite weights are refused (not warned about): one of them makes every forward pass
 * that reads it NaN, so the model could neither generate nor train; refusing at import names the
 * tensor and the index, where a later failure would not.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, jobOf, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';
import { Rng } from '../../src/main/core/rng';
import { parameterShapes, type GptConfig, type NamedTensors } from '../../src/main/lm/config';
import { hfConfigJson, writeHfModel } from '../../src/main/lm/checkpoint';
import { llamaConfigJson } from '../../src/main/lm/llamaConfig';
import { newLlamaConfig } from '../../src/main/models/modelOps';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { Tokenizer } from '../../src/main/lm/tokenizer/index';
import type { Backend } from '../../src/main/app/backend';

const tempDir = useTempDir();
const openBackend = useBackends();

const config: GptConfig = {
  vocabSize: 300,
  nPositions: 16,
  nEmbd: 8,
  nLayer: 1,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  dropout: 0,
  bosTokenId: 0,
  eosTokenId: 0,
};

function weights(): NamedTensors {
  const rng = new Rng(1);
  const out: NamedTensors = new Map();
  for (const [name, shape] of parameterShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * 0.1) });
  }
  return out;
}

/** A safetensors file by hand: any header (object or raw text), any data, any declared header length. */
function safetensors(header: object | string, data = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(data, 8 + text.byteLength);
  return out;
}

let good: string;
beforeAll(async () => {
  // Outlives each test's temporary folders: every case copies it.
  good = mkdtempSync(join(tmpdir(), 'alol-hostile-'));
  writeHfModel(good, config, weights());
  const tokenizer = Tokenizer.train(['hello there, general kenobi. '.repeat(20), 'the quick brown fox'], {
    vocabSize: 280,
    specialTokens: ['<|endoftext|>'],
  });
  await tokenizer.save(good);
});
afterAll(() => rmSync(good, { recursive: true, force: true }));

/** A copy of the good folder with `change` applied. */
function folder(change: (dir: string) => void): string {
  const dir = tempDir();
  cpSync(good, dir, { recursive: true });
  change(dir);
  return dir;
}

function withWeights(dir: string, edit: (w: NamedTensors) => void): void {
  const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
  edit(tensors);
  writeHfModel(dir, config, tensors);
}

const json = (dir: string, file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value));
const readJson = (dir: string, file: string) =>
  JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Case {
  name: string;
  make: () => string;
  /** What the error says, with {dir} standing for the folder. */
  error: (dir: string) => RegExp;
}

const st = (dir: string) => esc(join(dir, 'model.safetensors'));
const cases: Case[] = [
  {
    name: 'a safetensors header length past the end of the file',
    make: () => folder((d) => writeFileSync(join(d, 'model.safetensors'), safetensors('{}', undefined, 1_000_000n))),
    error: (d) => new RegExp(`${st(d)}: the header length 1000000 runs past the end of the file`),
  },
  {
    name: 'a header length of 2^64 - 1',
    make: () =>
      folder((d) => writeFileSync(join(d, 'model.safetensors'), safetensors('{}', undefined, 2n ** 64n - 1n))),
    error: (d) => new RegExp(`${st(d)}: the header length 18446744073709551615 runs past the end of the file`),
  },
  {
    name: 'a header that is not JSON',
    make: () => folder((d) => writeFileSync(join(d, 'model.safetensors'), safetensors('{"wte.weight": [1, 2'))),
    error: (d) => new RegExp(`${st(d)}: the header is not valid JSON`),
  },
  {
    name: 'overlapping data offsets',
    make: () =>
      folder((d) =>
        writeFileSync(
          join(d, 'model.safetensors'),
          safetensors(
            {
              'wte.weight': { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
              'wpe.weight': { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
            },
            new Uint8Array(24),
          ),
        ),
      ),
    error: (d) =>
      new RegExp(`${st(d)}: tensor "wpe.weight": data_offsets \\[8, 24\\] overlap those of tensor "wte.weight"`),
  },
  {
    name: 'data offsets out of range',
    make: () =>
      folder((d) =>
        writeFileSync(
          join(d, 'model.safetensors'),
          safetensors({ 'wte.weight': { dtype: 'F32', shape: [4], data_offsets: [16, 32] } }, new Uint8Array(16)),
        ),
      ),
    error: (d) => new RegExp(`${st(d)}: tensor "wte.weight": data_offsets \\[16, 32\\] run past the end of the data`),
  },
  {
    name: 'a declared 100 GB tensor (refused from the header, nothing allocated)',
    make: () =>
      folder((d) =>
        writeFileSync(
          join(d, 'model.safetensors'),
          safetensors(
            { 'wte.weight': { dtype: 'F32', shape: [100_000, 262_144], data_offsets: [0, 104_857_600_000] } },
            new Uint8Array(64),
          ),
        ),
      ),
    error: (d) =>
      new RegExp(`${st(d)}: tensor "wte.weight": data_offsets \\[0, 104857600000\\] run past the end of the data`),
  },
  {
    name: 'a 100 GB shape over 64 bytes of data',
    make: () =>
      folder((d) =>
        writeFileSync(
          join(d, 'model.safetensors'),
          safetensors(
            { 'wte.weight': { dtype: 'F32', shape: [100_000, 262_144], data_offsets: [0, 64] } },
            new Uint8Array(64),
          ),
        ),
      ),
    error: (d) =>
      new RegExp(`${st(d)}: tensor "wte.weight": shape \\[100000, 262144\\] of F32 needs 104857600000 bytes`),
  },
  {
    name: 'a dtype the config cannot take (I32)',
    make: () =>
      folder((d) => {
        const { tensors } = readSafetensors(join(d, 'model.safetensors'));
        const header: Record<string, unknown> = {};
        let offset = 0;
        const parts: Uint8Array[] = [];
        for (const [name, { shape, data }] of tensors) {
          header[name] = {
            dtype: name === 'wte.weight' ? 'I32' : 'F32',
            shape,
            data_offsets: [offset, offset + data.byteLength],
          };
          parts.push(new Uint8Array(data.buffer));
          offset += data.byteLength;
        }
        writeFileSync(join(d, 'model.safetensors'), safetensors(header, Buffer.concat(parts)));
      }),
    error: (d) => new RegExp(`${st(d)}: tensor "wte.weight": dtype I32 cannot be read as floats`),
  },
  {
    name: 'a shape that disagrees with the config',
    make: () => folder((d) => json(d, 'config.json', { ...hfConfigJson(config), n_embd: 12, n_head: 2 })),
    error: (d) =>
      new RegExp(
        `${st(d)}: the tensors do not match the GPT-2 config .*wte\\.weight is \\[300, 8\\], expected \\[300, 12\\]`,
      ),
  },
  {
    name: 'a NaN weight',
    make: () => folder((d) => withWeights(d, (w) => (w.get('h.0.attn.c_attn.weight')!.data[5] = NaN))),
    error: (d) =>
      new RegExp(
        `${st(d)}: tensor "h\\.0\\.attn\\.c_attn\\.weight" holds 1 value that is not finite \\(the first, NaN, at index 5\\)`,
      ),
  },
  {
    name: 'infinite weights',
    make: () =>
      folder((d) =>
        withWeights(d, (w) => {
          const ln = w.get('ln_f.weight')!.data;
          ln[2] = Infinity;
          ln[3] = -Infinity;
        }),
      ),
    error: (d) =>
      new RegExp(
        `${st(d)}: tensor "ln_f\\.weight" holds 2 values that are not finite \\(the first, Infinity, at index 2\\)`,
      ),
  },
  {
    name: 'a config of 10^9 layers',
    make: () => folder((d) => json(d, 'config.json', { ...hfConfigJson(config), n_layer: 1e9 })),
    error: (d) => new RegExp(`${esc(join(d, 'config.json'))}: field "n_layer" is 1000000000, past the limit of 1024`),
  },
  {
    name: 'a config with a vocabulary of 10^12',
    make: () => folder((d) => json(d, 'config.json', { ...hfConfigJson(config), vocab_size: 1e12 })),
    error: (d) => new RegExp(`${esc(join(d, 'config.json'))}: field "vocab_size" is 1000000000000, past the limit`),
  },
  {
    name: 'a Llama config of 10^9 layers and a vocabulary of 10^12',
    make: () =>
      folder((d) =>
        json(d, 'config.json', {
          ...llamaConfigJson(newLlamaConfig({ vocabSize: 300, layers: 1, dim: 8, heads: 2, context: 16, eos: 0 })),
          num_hidden_layers: 1e9,
          vocab_size: 1e12,
        }),
      ),
    error: (d) => new RegExp(`${esc(join(d, 'config.json'))}: field "vocab_size" is 1000000000000, past the limit`),
  },
  {
    name: 'a config whose sizes its weights cannot hold (1000 layers over a 1-layer file)',
    make: () => folder((d) => json(d, 'config.json', { ...hfConfigJson(config), n_layer: 1000 })),
    error: (d) =>
      new RegExp(
        `${esc(join(d, 'config.json'))}: its sizes \\(.*n_layer 1000\\) need at least [\\d,]+ weights, but the safetensors files declare`,
      ),
  },
  {
    name: 'a tokenizer.json that is not JSON',
    make: () => folder((d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {"type": "BPE", ')),
    error: (d) => new RegExp(`${esc(join(d, 'tokenizer.json'))}: not valid JSON`),
  },
  {
    name: 'a tokenizer.json without a model',
    make: () => folder((d) => json(d, 'tokenizer.json', { version: '1.0', model: 7 })),
    error: (d) => new RegExp(`${esc(join(d, 'tokenizer.json'))}: "model" is missing or not an object`),
  },
  {
    name: 'merges naming unknown tokens (byte-level BPE)',
    make: () =>
      folder((d) => {
        const tok = readJson(d, 'tokenizer.json');
        const model = tok.model as { merges: unknown[] };
        model.merges = [...model.merges, 'zzqq xxyy'];
        json(d, 'tokenizer.json', tok);
      }),
    error: (d) =>
      new RegExp(
        `${esc(join(d, 'tokenizer.json'))}: model\\.merges\\[\\d+\\]: merge "zzqq xxyy": "zzqq" is not in the vocabulary`,
      ),
  },
  {
    name: 'merges naming unknown tokens (a byte-fallback tokenizer, read by Tokenizers.js)',
    make: () =>
      folder((d) => {
        const tok = readJson(d, 'tokenizer.json');
        const model = tok.model as { merges: unknown[]; byte_fallback?: boolean };
        model.byte_fallback = true;
        model.merges = [...model.merges, 'zzqq xxyy'];
        json(d, 'tokenizer.json', tok);
      }),
    error: (d) =>
      new RegExp(`${esc(join(d, 'tokenizer.json'))}: model\\.merges\\[\\d+\\].*"zzqq" is not in the vocabulary`),
  },
  {
    name: 'a shard index pointing outside the folder',
    make: () =>
      folder((d) => {
        const shard = readFileSync(join(d, 'model.safetensors'));
        writeFileSync(join(d, 'model-00001-of-00001.safetensors'), shard);
        rmSync(join(d, 'model.safetensors')); // the index is read only where there is no model.safetensors
        json(d, 'model.safetensors.index.json', {
          weight_map: { 'wte.weight': '../../etc/passwd', 'wpe.weight': 'model-00001-of-00001.safetensors' },
        });
      }),
    error: (d) =>
      new RegExp(
        `${esc(join(d, 'model.safetensors.index.json'))}: weight_map "wte\\.weight" names "\\.\\./\\.\\./etc/passwd", not a \\.safetensors file in the folder`,
      ),
  },
  {
    name: 'a shard index naming a missing shard',
    make: () =>
      folder((d) => {
        rmSync(join(d, 'model.safetensors'));
        json(d, 'model.safetensors.index.json', {
          weight_map: { 'wte.weight': 'model-00001-of-00002.safetensors' },
        });
      }),
    error: (d) =>
      new RegExp(
        `${esc(join(d, 'model.safetensors.index.json'))}: weight_map "wte\\.weight" names "model-00001-of-00002\\.safetensors", which is not in`,
      ),
  },
];

describe('hostile model folders and files', () => {
  it('imports the untouched folder (the corpus breaks one thing at a time)', async () => {
    const backend = openBackend(tempDir());
    const done = await jobOf(backend, () => call(backend, 'models.import', { path: good, name: 'good' }));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  });

  it('refuses every hostile folder with an error naming the file and the key, without crashing', async () => {
    const backend: Backend = openBackend(tempDir());
    const made = cases.map((c) => ({ c, dir: c.make() }));
    const results: string[] = [];
    // Two at a time: each import is its own job process.
    for (let i = 0; i < made.length; i += 2) {
      await Promise.all(
        made.slice(i, i + 2).map(async ({ c, dir }, k) => {
          const job = await jobOf(backend, () =>
            call(backend, 'models.import', { path: dir, name: `hostile${i + k}` }),
          );
          results.push(`${c.name}: ${job.error?.message ?? '(imported)'}`);
          expect(job.status, c.name).toBe('failed');
          expect(job.error?.code, `${c.name}: ${job.error?.message}`).toBe('invalid_input');
          expect(job.error?.message, c.name).toMatch(c.error(dir));
        }),
      );
    }
    expect(await call(backend, 'models.list', {})).toEqual([]);
    console.log(results.join('\n'));
  }, 300_000);
});
