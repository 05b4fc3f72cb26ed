/**
 * `npm run bench:gpu` (tsx bench/gpu.bench.ts): the WebGPU backend beside wasm + BLAS in one run.
 * Prints the adapter, then tokens/s for the forward pass, a training step (AdamW, clip 1.0, dropout
 * 0.1 on GPT-2) and greedy KV-cache sampling, on webgpu and on wasm + BLAS, for three shapes with
 * random weights: the 3.3M bench model (bench/lm.bench.ts), GPT-2 small (124M) and SmolLM2-135M.
 *
 * On a fallback adapter (SwiftShader: a GPU emulated on the CPU, which is all a machine without a
 * GPU has) the shapes are cut to a few tokens and one timed step, and the output says so: those
 * figures measure the emulation, not a GPU. Without VK_ICD_FILENAMES and without GPU device nodes
 * (/dev/dri, /dev/nvidia0), SwiftShader's ICD from Debian's chromium is used when it is there.
 *
 * BENCH_STEPS sets the timed steps (default 3 on a GPU, 1 on a fallback adapter); BENCH_ONLY=3.3M
 * (or gpt2, smollm) runs one shape. On a fallback adapter the two 124M/135M shapes are skipped
 * unless BENCH_ALL=1 (they take tens of minutes on SwiftShader). BENCH_CHECK=1 prints the adapter and
 * the wasm line, multiplies one 64 x 64 pair on each backend and stops: the packed folder's smoke test
 * (`npm run bench:gpu:pack`, bench/packGpuBench.mjs).
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { padRight, type PaddedBatch } from '../src/main/lm/batch';
import type { CausalLm } from '../src/main/lm/causalLm';
import { parameterShapes, type GptConfig } from '../src/main/lm/config';
import { generate } from '../src/main/lm/generate';
import { Llama } from '../src/main/lm/llama';
import { llamaParameterShapes } from '../src/main/lm/llamaConfig';
import { tokenLogprobs } from '../src/main/lm/logprobs';
import { Gpt } from '../src/main/lm/model';
import { installNativeBlas, nativeBlasStatus } from '../src/main/lm/nativeBlas';
import { AdamW } from '../src/main/lm/optim';
import { trainStep } from '../src/main/lm/trainer';
import { adapterSummary, assertWebgpuFits, largestTensor, startWebgpu } from '../src/main/lm/webgpu';
import { Rng } from '../src/main/core/rng';
import { GPT2_SMALL, SMOLLM2_135M } from './shapes';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasGpuNodes(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}

type Model = CausalLm & { params: Map<string, tf.Variable>; dispose(): void };

interface Shape {
  key: string;
  label: string;
  build: (rng: Rng) => Model;
  shapes: () => Iterable<[string, readonly number[]]>;
  vocab: number;
  eos: number;
  /** Batch and length for forward and training, and batch and new tokens for sampling: [gpu, fallback]. */
  sizes: [Sizes, Sizes];
}

interface Sizes {
  batch: number;
  length: number;
  sampleBatch: number;
  newTokens: number;
}

const gptBase = { layerNormEpsilon: 1e-5, dropout: 0.1, bosTokenId: 0 };
const BENCH_33M: GptConfig = {
  ...gptBase,
  vocabSize: 512,
  nPositions: 128,
  nLayer: 4,
  nEmbd: 256,
  nHead: 4,
  eosTokenId: 0,
};
const SHAPES: Shape[] = [
  {
    key: '3.3M',
    label: '3.3M bench model (GPT-2 shape: 4 layers, d 256, vocab 512)',
    build: (rng) => Gpt.init(BENCH_33M, rng),
    shapes: () => parameterShapes(BENCH_33M),
    vocab: BENCH_33M.vocabSize,
    eos: BENCH_33M.eosTokenId,
    sizes: [
      { batch: 16, length: 128, sampleBatch: 8, newTokens: 64 },
      { batch: 2, length: 32, sampleBatch: 2, newTokens: 8 },
    ],
  },
  {
    key: 'gpt2',
    label: 'GPT-2 small (124M: 12 layers, d 768, vocab 50257)',
    build: (rng) => Gpt.init(GPT2_SMALL, rng),
    shapes: () => parameterShapes(GPT2_SMALL),
    vocab: GPT2_SMALL.vocabSize,
    eos: GPT2_SMALL.eosTokenId,
    sizes: [
      { batch: 4, length: 256, sampleBatch: 8, newTokens: 32 },
      { batch: 1, length: 8, sampleBatch: 1, newTokens: 2 },
    ],
  },
  {
    key: 'smollm',
    label: 'SmolLM2-135M shape (Llama: 30 layers, d 576, 9 heads / 3 KV heads, vocab 49152)',
    build: (rng) => Llama.init(SMOLLM2_135M, rng),
    shapes: () => llamaParameterShapes(SMOLLM2_135M),
    vocab: SMOLLM2_135M.vocabSize,
    eos: SMOLLM2_135M.eosTokenId,
    sizes: [
      { batch: 4, length: 256, sampleBatch: 8, newTokens: 32 },
      { batch: 1, length: 8, sampleBatch: 1, newTokens: 2 },
    ],
  },
];

function batchOf(rng: Rng, s: Shape, z: Sizes): PaddedBatch {
  const half = Math.max(1, Math.floor(z.length / 2));
  const tokens = (n: number) => Array.from({ length: n }, () => 1 + rng.int(s.vocab - 1));
  return padRight(
    Array.from({ length: z.batch }, () => ({ prompt: tokens(half), response: tokens(z.length - half) })),
    { padId: s.eos },
  );
}

function maskOf(batch: PaddedBatch): tf.Tensor2D {
  const { batchSize: B, length: T } = batch;
  const m = new Float32Array(B * (T - 1));
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) m[b * (T - 1) + t - 1] = batch.responseMask[b * T + t]!;
  return tf.tensor2d(m, [B, T - 1]);
}

/** Seconds per call of fn, after one untimed call (shader compilation, caches). */
function time(steps: number, fn: () => void): number {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) fn();
  return (performance.now() - t0) / 1000 / steps;
}

interface Figures {
  forward: number;
  train: number;
  sample: number;
}

function measure(s: Shape, z: Sizes, steps: number): Figures {
  const rng = new Rng(1);
  const model = s.build(rng);
  const batch = batchOf(rng, s, z);
  const tokens = z.batch * z.length;
  try {
    const forward = time(steps, () => {
      const lp = tf.tidy(() => tf.sum(tokenLogprobs(model, batch)));
      lp.dataSync();
      lp.dispose();
    });
    const optimizer = new AdamW(model.params, { lr: 1e-4, weightDecay: 0.01 });
    const drops = new Rng(2);
    const train = time(steps, () => {
      trainStep({
        params: model.params,
        optimizer,
        microBatches: [batch],
        loss: (b: PaddedBatch) => {
          const lp = tokenLogprobs(model, b, { training: { dropoutSeed: drops.seed() } });
          const mask = maskOf(b);
          return { loss: tf.div(tf.neg(tf.sum(tf.mul(lp, mask))), tf.sum(mask)) as tf.Scalar };
        },
        lr: 1e-4,
        maxGradNorm: 1,
      });
    });
    optimizer.dispose();
    const prompts = Array.from({ length: z.sampleBatch }, () =>
      Array.from({ length: 8 }, () => 1 + rng.int(s.vocab - 1)),
    );
    const sample = time(steps, () => {
      generate(model, prompts, { maxNewTokens: z.newTokens, greedy: true, eosTokenId: null });
    });
    return {
      forward: tokens / forward,
      train: tokens / train,
      sample: (z.sampleBatch * z.newTokens) / sample,
    };
  } finally {
    model.dispose();
  }
}

/** BENCH_CHECK=1: the same product on webgpu and on wasm, which must agree. */
async function check(): Promise<void> {
  const n = 64;
  const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
  const products: Float32Array[] = [];
  for (const backend of ['webgpu', 'wasm'] as const) {
    if (!(await tf.setBackend(backend))) throw new Error(`${backend} did not start`);
    const x = tf.tensor2d(a, [n, n]);
    const y = tf.matMul(x, x);
    products.push(y.dataSync() as Float32Array);
    tf.dispose([x, y]);
  }
  const [gpu, wasm] = products as [Float32Array, Float32Array];
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < gpu.length; i++) {
    scale = Math.max(scale, Math.abs(wasm[i]!));
    diff = Math.max(diff, Math.abs(gpu[i]! - wasm[i]!));
  }
  if (!(diff <= 1e-4 * scale)) throw new Error(`webgpu and wasm differ by ${diff} on a ${n} x ${n} matMul`);
  console.log(
    `check: a ${n} x ${n} matMul on webgpu and on wasm agree within ${(diff / scale).toExponential(1)} of its largest entry`,
  );
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function main(): Promise<void> {
  if (!process.env.VK_ICD_FILENAMES && !hasGpuNodes() && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    console.log(`no GPU device nodes: WebGPU on SwiftShader (VK_ICD_FILENAMES=${SWIFTSHADER_ICD})`);
  }
  const gpu = await startWebgpu({ allowFallback: true });
  const fallback = gpu.adapter.fallback;
  console.log(`WebGPU adapter: ${adapterSummary(gpu.adapter)}`);
  for (const a of gpu.adapters) if (a !== gpu.adapter) console.log(`  also offered: ${adapterSummary(a)}`);
  if (fallback)
    console.log(
      'NOTE: a fallback adapter emulates the GPU on the CPU; shapes are cut to a few tokens and one timed\n' +
        '      step, and these figures measure the emulation, not a GPU.',
    );
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start');
  installNativeBlas();
  console.log(`wasm: ${nativeBlasStatus().summary}`);
  if (process.env.BENCH_CHECK === '1') return check();
  const steps = Number(process.env.BENCH_STEPS ?? (fallback ? 1 : 3));
  const only = process.env.BENCH_ONLY;
  for (const s of SHAPES.filter((x) => !only || x.key === only)) {
    const z = s.sizes[fallback ? 1 : 0];
    if (fallback && s.key !== '3.3M' && process.env.BENCH_ALL !== '1' && only !== s.key) {
      // Measured here: the 3.3M model alone takes minutes on SwiftShader with two busy cores.
      console.log(
        `\n${s.label}\n  skipped on a fallback adapter (tens of minutes); BENCH_ALL=1 or BENCH_ONLY=${s.key} runs it`,
      );
      continue;
    }
    const big = largestTensor(s.shapes());
    console.log(
      `\n${s.label}\n  forward/training: batch ${z.batch} x ${z.length} tokens; sampling: ${z.sampleBatch} rows x ` +
        `${z.newTokens} new tokens, greedy, KV cache; ${steps} timed step(s) after one untimed; largest tensor ` +
        `${big.name} ${(big.bytes / 2 ** 20).toFixed(0)} MiB`,
    );
    console.log(
      `  ${'backend'.padEnd(12)} ${'forward tok/s'.padStart(14)} ${'train tok/s'.padStart(12)} ${'sample tok/s'.padStart(13)}`,
    );
    for (const backend of ['webgpu', 'wasm'] as const) {
      if (!(await tf.setBackend(backend))) throw new Error(`${backend} did not start`);
      if (backend === 'webgpu') assertWebgpuFits(big.bytes, `${s.label}: ${big.name}`);
      const f = measure(s, z, steps);
      const label = backend === 'wasm' ? 'wasm + BLAS' : 'webgpu';
      console.log(
        `  ${label.padEnd(12)} ${fmt(f.forward).padStart(14)} ${fmt(f.train).padStart(12)} ${fmt(f.sample).padStart(13)}`,
      );
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
