/**
 * `npm run bench` (tsx bench/lm.bench.ts): language-model speed on this machine, figures only.
 *
 * - Training tokens/s (B x T per AdamW step, dropout 0.1, clip 1.0) for the 3.3M-parameter config
 *   (vocab 512, ctx 128, 4 layers, d 256, 4 heads, batch 16) and the demo config (2 layers, d 128):
 *   one thread on the backend initTensorBackend() picks, the cpu
 *   backend for scale, and PyTorch CPU (bench/torch_gpt.py, same model and step, at 1 and at 2
 *   intra-op threads; the faster is compared) when torch imports. On wasm, each figure twice: with
 *   the stock wasm matrix product and with the native BLAS one (nativeBlas.ts) when it is there
 *   (one process at 1 and at 2 BLAS threads).
 * - Where a training step's time goes: forward, backward, optimizer, and the top kernels (tf.profile).
 * - The matrix product's rate per core, ours against OpenBLAS through PyTorch.
 * - Sampling tokens/s at batch 8, 64 new tokens, greedy (generate.ts), with and without the KV cache.
 *
 * Other sessions share this machine and come and go within a run, so each figure comes with CPU
 * time as well as wall time, and the load of other processes is printed around each config.
 * BENCH_STEPS (default 5) sets the timed steps per figure; BENCH_QUICK=1 skips the cpu backend. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initTensorBackend } from '../src/main/lm/tensorBackend';
import { padRight, type Example } from '../src/main/lm/batch';
import { parameterCount, type GptConfig } from '../src/main/lm/config';
import { generate } from '../src/main/lm/generate';
import { Gpt } from '../src/main/lm/model';
import { AdamW } from '../src/main/lm/optim';
import {
  nativeBlasStatus,
  setNativeBlasEnabled,
  setNativeBlasThreads,
  defaultBlasThreads,
} from '../src/main/lm/nativeBlas';
import { lmLoss, type LmMicroBatch } from '../test/helpers/lmLoss';
import { Rng } from '../src/main/core/rng';
import { applyGradients, gradientSum, trainStep } from '../src/main/lm/trainer';

const STEPS = Number(process.env.BENCH_STEPS ?? 5);
const QUICK = process.env.BENCH_QUICK === '1';
const root = fileURLToPath(new URL('..', import.meta.url));

interface BenchConfig {
  label: string;
  config: GptConfig;
  batch: number;
}

const base = { layerNormEpsilon: 1e-5, dropout: 0.1, bosTokenId: 0, eosTokenId: 0 };
const CONFIGS: BenchConfig[] = [
  {
    label: '3.3M (4 layers, d 256)',
    config: { ...base, vocabSize: 512, nPositions: 128, nLayer: 4, nEmbd: 256, nHead: 4 },
    batch: 16,
  },
  {
    label: 'demo (2 layers, d 128)',
    config: { ...base, vocabSize: 512, nPositions: 128, nLayer: 2, nEmbd: 128, nHead: 4 },
    batch: 16,
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers

/** Cores' worth of CPU that other processes used over `ms` (this process is idle meanwhile). */
async function backgroundLoad(ms = 1000): Promise<number | null> {
  const read = () => {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + fields[4]!;
    return { busy: fields.reduce((a, b) => a + b, 0) - idle };
  };
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, ms));
    const b = read();
    return (b.busy - a.busy) / 100 / (ms / 1000); // USER_HZ = 100
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall seconds and median CPU seconds of this process (all its threads) per call, after warm-up. */
async function timeIt(fn: () => unknown, warmup: number, steps: number): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    walls.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** B random sequences of the full context: prompt = the first token, response = the rest (as torch_gpt.py's targets). */
function randomBatch(rng: Rng, c: GptConfig, batch: number): Example[] {
  return Array.from({ length: batch }, () => {
    const ids = Array.from({ length: c.nPositions }, () => rng.int(c.vocabSize));
    return { prompt: ids.slice(0, 1), response: ids.slice(1) };
  });
}

function microBatches(rng: Rng, c: GptConfig, batch: number, parts: number): LmMicroBatch[] {
  const examples = randomBatch(rng, c, batch);
  const size = batch / parts;
  return Array.from({ length: parts }, (_, i) => ({
    batch: padRight(examples.slice(i * size, (i + 1) * size), { padId: 0 }),
    dropoutSeed: rng.seed(),
  }));
}

function findPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return null;
}

interface TorchResult {
  torch: string;
  threads: number;
  blas: string;
  tokens_per_s: number;
  step_seconds: number;
  /** Process CPU seconds per step, all threads. */
  cpu_seconds: number;
  params: number;
}

function runTorch(python: string, b: BenchConfig, threads: number): TorchResult | string {
  const c = b.config;
  const args = [
    `${root}bench/torch_gpt.py`,
    ...[
      '--vocab',
      c.vocabSize,
      '--ctx',
      c.nPositions,
      '--layers',
      c.nLayer,
      '--d',
      c.nEmbd,
      '--heads',
      c.nHead,
      '--batch',
      b.batch,
      '--dropout',
      c.dropout,
    ].map(String),
    ...['--steps', String(Math.max(STEPS, 5)), '--threads', String(threads)],
  ];
  const run = spawnSync(python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `torch_gpt.py failed: ${run.stderr.trim().split('\n').pop()}`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as TorchResult;
}

// ---------------------------------------------------------------------------------------------
// Training

async function trainSingle(
  b: BenchConfig,
  warmup = 1,
  steps = STEPS,
): Promise<{ tokensPerS: number; stepS: number; cpuS: number }> {
  const rng = new Rng(1);
  const model = Gpt.init(b.config, rng);
  const opt = new AdamW(model.params, { lr: 1e-4 });
  const { wall: stepS, cpu: cpuS } = await timeIt(
    () =>
      trainStep({
        params: model.params,
        optimizer: opt,
        microBatches: microBatches(rng, b.config, b.batch, 1),
        loss: (mb) => lmLoss(model, mb),
        lr: 1e-4,
        maxGradNorm: 1,
      }),
    warmup,
    steps,
  );
  opt.dispose();
  model.dispose();
  return { tokensPerS: (b.batch * b.config.nPositions) / stepS, stepS, cpuS };
}

type KernelTable = Map<string, { ms: number; calls: number; worst: { ms: number; shapes: string } }>;

/**
 * Time per backend kernel: tf.profile times each kernel synchronously on wasm. Its list also holds
 * the wrappers of custom gradients ('unnamed scope', 'backward'), which would count their inner
 * kernels twice: only registered backend kernels are summed.
 */
async function kernelsOf(f: () => void): Promise<KernelTable> {
  const backend = tf.getBackend();
  const profile = await tf.profile(f);
  const out: KernelTable = new Map();
  for (const k of profile.kernels) {
    if (!tf.getKernel(k.name, backend)) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = out.get(k.name) ?? { ms: 0, calls: 0, worst: { ms: -1, shapes: '' } };
    e.ms += ms;
    e.calls += 1;
    if (ms > e.worst.ms)
      e.worst = { ms, shapes: `${k.inputShapes.map((s) => `[${s}]`).join(' ')} -> [${k.outputShapes[0] ?? ''}]` };
    out.set(k.name, e);
  }
  return out;
}

function printKernels(all: KernelTable, total: number, fwd: KernelTable | null, top = 10): void {
  console.log(
    `      ${'kernel'.padEnd(22)} ${'total'.padStart(8)} ${'share'.padStart(6)} ${fwd ? 'forward'.padStart(8) : ''} ${'calls'.padStart(6)}  slowest call`,
  );
  for (const [name, e] of [...all].sort((x, y) => y[1].ms - x[1].ms).slice(0, top)) {
    const f = fwd ? `${fmt(fwd.get(name)?.ms ?? 0)} ms`.padStart(8) : '';
    console.log(
      `      ${name.padEnd(22)} ${`${fmt(e.ms)} ms`.padStart(8)} ${`${fmt((100 * e.ms) / total, 1)}%`.padStart(6)} ${f} ${String(e.calls).padStart(6)}  ${fmt(e.worst.ms, 1)} ms ${e.worst.shapes}`,
    );
  }
}

/** forward alone, forward + backward, optimizer alone, and the kernels of one forward + backward. */
async function breakdown(b: BenchConfig): Promise<void> {
  const rng = new Rng(2);
  const model = Gpt.init(b.config, rng);
  const opt = new AdamW(model.params, { lr: 1e-4 });
  const mb = microBatches(rng, b.config, b.batch, 1)[0]!;
  // CPU time: one thread does all of it, and other processes cannot inflate it.
  const { cpu: forward } = await timeIt(() => tf.tidy(() => lmLoss(model, mb).loss.dataSync()), 1, STEPS);
  const { cpu: both } = await timeIt(
    () => {
      const g = gradientSum(model.params, [mb], (m) => lmLoss(model, m));
      for (const t of g.sum.values()) t.dispose();
    },
    1,
    STEPS,
  );
  const fixed = new Map([...model.params].map(([k, v]) => [k, tf.randomNormal(v.shape, 0, 1e-3)]));
  // applyGradients disposes what it is given, so each call gets copies (a cheap copy on wasm).
  const { cpu: optimizer } = await timeIt(
    () =>
      applyGradients({
        optimizer: opt,
        sum: new Map([...fixed].map(([k, g]) => [k, g.clone()])),
        count: 1,
        lr: 1e-4,
        maxGradNorm: 1,
      }),
    1,
    STEPS,
  );
  for (const g of fixed.values()) g.dispose();
  const step = both + optimizer;
  console.log(
    `    CPU seconds: forward ${fmt(forward, 3)}, backward ${fmt(both - forward, 3)}, optimizer (clip + AdamW) ${fmt(optimizer, 3)} ` +
      `(${fmt((100 * forward) / step)}% / ${fmt((100 * (both - forward)) / step)}% / ${fmt((100 * optimizer) / step)}%)`,
  );

  const fwd = await kernelsOf(() => tf.tidy(() => void lmLoss(model, mb).loss.dataSync()));
  const all = await kernelsOf(() => {
    const g = gradientSum(model.params, [mb], (m) => lmLoss(model, m));
    for (const t of g.sum.values()) t.dispose();
  });
  const total = [...all.values()].reduce((a, e) => a + e.ms, 0);
  const fwdTotal = [...fwd.values()].reduce((a, e) => a + e.ms, 0);
  console.log(
    `    kernels: ${fmt(total / 1000, 3)} s of the forward + backward (forward ${fmt(fwdTotal / 1000, 3)} s); the rest is JavaScript around them. Top kernels:`,
  );
  printKernels(all, total, fwd);
  opt.dispose();
  model.dispose();
}

async function trainCpu(b: BenchConfig): Promise<number> {
  const previous = tf.getBackend();
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true); // hushes the cpu backend's "install tfjs-node" banner
  await tf.setBackend('cpu');
  try {
    return (await trainSingle(b, 0, 1)).tokensPerS;
  } finally {
    await tf.setBackend(previous);
    tf.env().set('PROD', prod);
  }
}

/**
 * The products are most of a training step, so their rate per core bounds everything: the wasm
 * backend's matMul, the same through the native BLAS (one BLAS thread) when it is there, and
 * OpenBLAS's sgemm through PyTorch on one thread; same shapes, CPU time. The wasm kernels run
 * synchronously, so a product is timed without reading its result back.
 */
async function gemmGap(python: string | null): Promise<void> {
  console.log(`\n## Matrix products, one core (the largest of the 3.3M model's step)`);
  const blas = nativeBlasStatus();
  for (const [m, k, n] of [
    [2048, 256, 1024],
    [2048, 1024, 256],
    [256, 2048, 1024],
  ] as const) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const run = () => {
      const c = tf.matMul(a, b);
      if (tf.getBackend() !== 'wasm') c.dataSync();
      c.dispose();
    };
    const rate = async (native: boolean) => {
      setNativeBlasEnabled(native);
      const { cpu, wall } = await timeIt(run, 2, 10);
      return { cpu: (2 * m * k * n) / cpu / 1e9, wall: (2 * m * k * n) / wall / 1e9 };
    };
    const { cpu: ours } = await rate(false);
    let native = '';
    if (blas.installed) {
      setNativeBlasThreads(1);
      const r = await rate(true);
      native = `; wasm + ${blas.vendor} ${fmt(r.cpu)} GFLOP/s (${fmt(r.cpu / ours, 1)}x; ${fmt(r.wall)} by wall time)`;
      setNativeBlasThreads(defaultBlasThreads());
    }
    let theirs = '';
    if (python) {
      const r = spawnSync(python, [`${root}bench/torch_gpt.py`, '--gemm', String(m), String(k), String(n)], {
        encoding: 'utf8',
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      });
      if (r.status === 0) {
        const g = JSON.parse(r.stdout.trim()) as { gflops: number; blas: string };
        theirs = `; PyTorch (${g.blas}) ${fmt(g.gflops)} GFLOP/s, ${fmt(g.gflops / ours, 1)}x the wasm kernel`;
      }
    }
    console.log(`  [${m},${k}] @ [${k},${n}]: ${tf.getBackend()} ${fmt(ours)} GFLOP/s${native}${theirs}`);
    a.dispose();
    b.dispose();
  }
  setNativeBlasEnabled(blas.active);
  console.log(
    '  wasm has 128-bit SIMD without fused multiply-add, against AVX2/AVX-512 with FMA for OpenBLAS: the gap per core lives',
  );
  console.log(
    '  in this kernel, which is why the native BLAS product (native/blas, nativeBlas.ts) replaces it when it can.',
  );
}

// ---------------------------------------------------------------------------------------------
// Sampling

/** Greedy decoding (generate.ts) of `newTokens` at batch B from 8-token prompts, never stopping early. */
function sample(
  model: Gpt,
  B: number,
  newTokens: number,
  useCache: boolean,
): { tokensPerS: number; tokensPerCpuS: number; tokens: number[][] } {
  const rng = new Rng(4);
  const prompts = Array.from({ length: B }, () => Array.from({ length: 8 }, () => rng.int(model.config.vocabSize)));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = generate(model, prompts, { maxNewTokens: newTokens, eosTokenId: null, useCache });
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  if (out.ids.some((ids) => ids.length !== newTokens)) throw new Error('generate stopped early');
  return {
    tokensPerS: (B * newTokens) / s,
    tokensPerCpuS: (B * newTokens) / ((c.user + c.system) / 1e6),
    tokens: out.ids,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const report = await initTensorBackend();
  console.log(`# Language-model benchmark`);
  console.log(
    `backend: ${report.chosen} (${report.reason}); ${availableParallelism()} cores; Node ${process.versions.node}; ${STEPS} timed steps per figure (median)`,
  );
  const python = findPython();

  for (const b of CONFIGS) {
    const tokens = b.batch * b.config.nPositions;
    const loadBefore = await backgroundLoad();
    console.log(
      `\n## Training, ${b.label}: ${fmt(parameterCount(b.config))} parameters, batch ${b.batch} x ${b.config.nPositions} = ${tokens} tokens per step, dropout ${b.config.dropout}`,
    );
    // PyTorch at its best here: one intra-op thread is faster than two on this machine (OpenBLAS
    // runs its own threads inside each product, and OpenMP's on top oversubscribe the 2 cores).
    const torchRuns = python ? [1, availableParallelism()].map((threads) => runTorch(python, b, threads)) : [];
    const torchOk = torchRuns.filter((r): r is TorchResult => typeof r !== 'string');
    const torch: TorchResult | string = !python
      ? 'torch does not import (apt-get install python3-torch libopenblas0-pthread)'
      : torchOk.length === 0
        ? String(torchRuns[0])
        : torchOk.reduce((best, r) => (r.tokens_per_s > best.tokens_per_s ? r : best));
    // Each figure with the stock wasm product and, when the addon and a BLAS are there, the native one.
    const blas = nativeBlasStatus();
    const withBlas = blas.installed ? `wasm + ${blas.vendor}` : null;
    const figures: { label: string; tokensPerS: number }[] = [];
    const singles: {
      label: string;
      native: boolean;
      threads: number;
      figures: Awaited<ReturnType<typeof trainSingle>>;
    }[] = [];
    const singleModes = [
      { label: `${report.chosen}, one thread`, native: false, threads: 1 },
      ...(withBlas
        ? [1, 2]
            .filter((t) => t <= availableParallelism())
            .map((t) => ({
              label: `${withBlas}, one process, ${t} BLAS thread${t === 1 ? '' : 's'}`,
              native: true,
              threads: t,
            }))
        : []),
    ];
    for (const mode of singleModes) {
      setNativeBlasEnabled(mode.native);
      setNativeBlasThreads(mode.threads);
      const f = await trainSingle(b);
      singles.push({ ...mode, figures: f });
      figures.push({ label: mode.label, tokensPerS: f.tokensPerS });
      console.log(
        `  ${`${mode.label}:`.padEnd(46)} ${fmt(f.tokensPerS).padStart(6)} tokens/s (${fmt(f.stepS, 3)} s/step; ${fmt(f.cpuS, 3)} CPU s/step, ${fmt(tokens / f.cpuS)} tokens per CPU-second)`,
      );
    }
    if (!withBlas && report.chosen === 'wasm') console.log(`  (no native BLAS product: ${blas.summary})`);
    // The breakdown on the product the studio uses by default, at one BLAS thread so CPU time is one core's.
    setNativeBlasEnabled(blas.active);
    setNativeBlasThreads(1);
    console.log(`    breakdown (${blas.active ? `${withBlas}, 1 BLAS thread` : report.chosen}):`);
    await breakdown(b);
    setNativeBlasThreads(defaultBlasThreads());
    setNativeBlasEnabled(blas.active);
    if (!QUICK && b.label.startsWith('demo')) {
      const cpu = await trainCpu(b);
      console.log(`  cpu backend (pure JS), one step:   ${fmt(cpu, 1).padStart(6)} tokens/s`);
    } else {
      console.log(
        `  cpu backend: skipped (${QUICK ? 'BENCH_QUICK' : 'minutes per step at this size; measured on the demo config'})`,
      );
    }
    if (typeof torch === 'string') {
      console.log(`  PyTorch: ${torch}`);
    } else {
      for (const r of torchOk) {
        console.log(
          `  PyTorch ${r.torch} CPU, ${r.threads} intra-op thread${r.threads === 1 ? '' : 's'} (${r.blas}): ${fmt(r.tokens_per_s).padStart(6)} tokens/s (${fmt(r.step_seconds, 3)} s/step; ` +
            `${fmt(r.cpu_seconds, 3)} CPU s/step over all threads)${r === torch ? ' <- the faster, compared below' : ''}`,
        );
      }
      console.log(`  ours / PyTorch (${fmt(torch.tokens_per_s)} tokens/s), wall clock; target >= 0.5:`);
      for (const f of figures)
        console.log(
          `    ${f.label.padEnd(60)} ${fmt(f.tokensPerS).padStart(6)} tokens/s  ${fmt(f.tokensPerS / torch.tokens_per_s, 2)}x`,
        );
      const best = figures.reduce((x, y) => (y.tokensPerS > x.tokensPerS ? y : x));
      console.log(`    best: ${best.label}, ${fmt(best.tokensPerS / torch.tokens_per_s, 2)}x PyTorch`);
      for (const m of singles.filter((m) => m.threads === 1)) {
        console.log(
          `  per CPU-second, ${m.label} / PyTorch: ${fmt(tokens / m.figures.cpuS / (tokens / torch.cpu_seconds), 2)}`,
        );
      }
    }
    const loadAfter = await backgroundLoad();
    if (loadBefore !== null && loadAfter !== null) {
      console.log(
        `  other processes were busy on ${fmt(loadBefore, 2)} cores before these figures and ${fmt(loadAfter, 2)} after${Math.max(loadBefore, loadAfter) > 0.3 ? ': trust the CPU-time figures over the wall-clock ones' : ''}`,
      );
    }
  }

  await gemmGap(python);

  console.log(`\n## Sampling, greedy, batch 8, 64 new tokens`);
  for (const b of CONFIGS) {
    const model = Gpt.init(b.config, new Rng(3));
    sample(model, 8, 4, true); // warm-up
    const withCache = sample(model, 8, 64, true);
    const without = sample(model, 8, 64, false);
    const same = JSON.stringify(withCache.tokens) === JSON.stringify(without.tokens);
    console.log(
      `  ${b.label}: with KV cache ${fmt(withCache.tokensPerS).padStart(6)} tokens/s (${fmt(withCache.tokensPerCpuS)} per CPU-second); ` +
        `without ${fmt(without.tokensPerS).padStart(5)} tokens/s (${fmt(without.tokensPerCpuS)}); greedy outputs ${same ? 'identical' : 'DIFFER'} (target >= 1,000 with the cache)`,
    );
    if (b === CONFIGS[0]) {
      const t0 = performance.now();
      const kernels = await kernelsOf(() => void sample(model, 8, 64, true));
      const wall = performance.now() - t0;
      const total = [...kernels.values()].reduce((a, e) => a + e.ms, 0);
      console.log(
        `    where the cached decode's time goes: kernels ${fmt(total)} ms of ${fmt(wall)} ms (profiled, so slower); top kernels:`,
      );
      printKernels(kernels, total, null, 8);
    }
    model.dispose();
  }
  const after = await backgroundLoad();
  if (after !== null) console.log(`\nbackground load at the end: ${fmt(after, 2)} cores busy with other processes`);
}

await main();
