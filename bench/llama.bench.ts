/**
 * `npm run bench:llama` (tsx bench/llama.bench.ts): the Llama family's speed beside PyTorch at the
 * same shapes, figures only (issue 13, item 7). Random weights at the SmolLM2-135M and Qwen2.5-0.5B
 * shapes (bench/memory.bench.ts has them), three figures each:
 *
 * - forward: tokenLogprobs of the response tokens (the last 128) of 8 random sequences of 256
 *   tokens, no gradient; tokens/s = 8 x 256 / seconds.
 * - LoRA training: one trainStep over the same batch in micro-batches of 2 (r 8, alpha 16 on q, k,
 *   v, o, gate, up, down; the base frozen), mean NLL of the response tokens, clip 1.0, AdamW on the
 *   adapters; layers recomputed in the backward pass when trainingMemory.ts recomputeLayers says so,
 *   as a run would. tokens/s as above.
 * - sampling: generate, greedy with the KV cache, 8 prompts of 128 tokens, 32 new tokens each (never
 *   stopping early); tokens/s = new tokens / seconds, prefill included.
 *
 * bench/torch_llama.py computes the same three in plain PyTorch (run at 1 and at 2 intra-op threads;
 * the faster of the two for each figure is compared). Each shape runs in its own process (the wasm
 * heap never shrinks); the load average is printed around each, since other sessions share the
 * machine. Results go to bench/results/llama.json. BENCH_STEPS (default 1) timed repetitions after
 * BENCH_WARMUP (default 1) warm-ups; BENCH_ONLY=smollm2-135M or qwen2.5-0.5B picks a shape;
 * BENCH_TINY=1 runs a tiny shape instead (a smoke test, results not written).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/main/core/rng';
import type { Example } from '../src/main/lm/batch';
import { generate } from '../src/main/lm/generate';
import type { LlamaConfig } from '../src/main/lm/llamaConfig';
import { LoraAdapters } from '../src/main/lm/lora';
import { AdamW } from '../src/main/lm/optim';
import { initTensorBackend } from '../src/main/lm/tensorBackend';
import { trainStep } from '../src/main/lm/trainer';
import { recomputeLayers } from '../src/main/lm/trainingMemory';
import { initModel, shapeOf } from '../src/main/models/modelFamily';
import { commit, heapBytes, responseLogps, targetsFor } from './memory.bench';
import { QWEN25_05B, SMOLLM2_135M } from './shapes';

const root = fileURLToPath(new URL('..', import.meta.url));
const STEPS = Number(process.env.BENCH_STEPS ?? 1);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const TINY = process.env.BENCH_TINY === '1';
const BATCH = 8;
const MICRO = 2;
const PROMPT = 128;
const RESPONSE = 128;
const NEW_TOKENS = 32;
const LORA = { r: 8, alpha: 16 };

const SHAPES: { label: string; config: LlamaConfig }[] = TINY
  ? [
      {
        label: 'tiny',
        config: {
          ...QWEN25_05B,
          vocabSize: 512,
          nEmbd: 64,
          intermediateSize: 128,
          nLayer: 2,
          nHead: 4,
          nKvHead: 2,
          headDim: 16,
        },
      },
    ]
  : [
      { label: 'smollm2-135M', config: SMOLLM2_135M },
      { label: 'qwen2.5-0.5B', config: QWEN25_05B },
    ];

type Figure = 'forward' | 'train' | 'sample';
const FIGURES: { key: Figure; name: string }[] = [
  { key: 'forward', name: 'forward (no grad)' },
  { key: 'train', name: 'LoRA training' },
  { key: 'sample', name: 'KV-cache sampling' },
];

interface Timing {
  seconds: number;
  cpu_seconds: number;
  tokens_per_s: number;
}

/** What one shape's child process measures on our side. */
interface Ours {
  label: string;
  parameters: number;
  trainable: number;
  recompute: boolean;
  forward: Timing;
  train: Timing;
  sample: Timing;
  heapMB: number | null;
  rssMB: number;
}

/** bench/torch_llama.py's output. */
interface Torch {
  torch: string;
  threads: number;
  blas: string;
  params: number;
  trainable: number;
  forward: Timing;
  train: Timing;
  sample: Timing;
  max_rss_mb: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall and CPU seconds per call after the warm-ups, as torch_llama.py's timed(). */
function timed(fn: (warmup: boolean) => void, tokens: number): Timing {
  for (let i = 0; i < WARMUP; i++) fn(true);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn(false);
    walls.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  const seconds = median(walls);
  return { seconds, cpu_seconds: median(cpus), tokens_per_s: tokens / seconds };
}

function randomBatch(rng: Rng, vocab: number): Example[] {
  const tokens = (n: number) => Array.from({ length: n }, () => rng.int(vocab));
  return Array.from({ length: BATCH }, () => ({ prompt: tokens(PROMPT), response: tokens(RESPONSE) }));
}

const progress = (label: string, what: string) =>
  process.stderr.write(`  [${label}] ${what} (${new Date().toISOString().slice(11, 19)})\n`);

async function measure(label: string, config: LlamaConfig): Promise<Ours> {
  await initTensorBackend();
  const rng = new Rng(1);
  const model = initModel(config, rng);
  const parameters = [...model.params.values()].reduce((n, v) => n + v.size, 0);
  const tokens = BATCH * (PROMPT + RESPONSE);

  progress(label, 'forward');
  const forward = timed(() => {
    const { lp, mask } = responseLogps(model, randomBatch(rng, config.vocabSize), null);
    tf.tidy(() => tf.sum(lp).dataSync());
    lp.dispose();
    mask.dispose();
  }, tokens);

  progress(label, 'sampling');
  const sample = timed((warmup) => {
    const prompts = randomBatch(rng, config.vocabSize).map((e) => e.prompt);
    const n = warmup ? 2 : NEW_TOKENS; // the warm-up runs the prefill and a cached step
    const out = generate(model, prompts, { maxNewTokens: n, greedy: true, eosTokenId: null });
    if (out.ids.some((ids) => ids.length !== n)) throw new Error('generate stopped early');
  }, BATCH * NEW_TOKENS);

  progress(label, 'LoRA training');
  const lora = LoraAdapters.attach(model, { ...LORA, dropout: 0, targets: targetsFor(config) }, rng);
  const optimizer = new AdamW(lora.params, { lr: 1e-5, weightDecay: 0.01 });
  const recompute = recomputeLayers(shapeOf(config), MICRO, PROMPT + RESPONSE);
  const train = timed(() => {
    const batch = randomBatch(rng, config.vocabSize);
    const micro: { batch: Example[]; seed: number }[] = [];
    for (let i = 0; i < BATCH; i += MICRO) micro.push({ batch: batch.slice(i, i + MICRO), seed: rng.seed() });
    trainStep({
      params: lora.params,
      optimizer,
      microBatches: micro,
      lr: 1e-5,
      maxGradNorm: 1,
      loss: (mb) => {
        const { lp, mask } = responseLogps(model, mb.batch, mb.seed, recompute);
        return tf.neg(tf.div(tf.sum(tf.mul(lp, mask)), tf.sum(mask))) as tf.Scalar;
      },
    });
  }, tokens);

  const heap = heapBytes();
  return {
    label,
    parameters,
    trainable: [...lora.params.values()].reduce((n, v) => n + v.size, 0),
    recompute,
    forward,
    train,
    sample,
    heapMB: heap === null ? null : Math.round(heap / 2 ** 20),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function findPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return python;
  }
  return null;
}

function runTorch(python: string, c: LlamaConfig, threads: number): Torch | string {
  const settings = {
    vocab: c.vocabSize,
    layers: c.nLayer,
    d: c.nEmbd,
    heads: c.nHead,
    kv_heads: c.nKvHead,
    head_dim: c.headDim,
    ffn: c.intermediateSize,
    eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    qkv_bias: c.qkvBias,
    tied: c.tieWordEmbeddings,
    batch: BATCH,
    micro: MICRO,
    prompt: PROMPT,
    response: RESPONSE,
    new_tokens: NEW_TOKENS,
    lora_r: LORA.r,
    lora_alpha: LORA.alpha,
    warmup: WARMUP,
    steps: STEPS,
    threads,
  };
  const run = spawnSync(python, [`${root}bench/torch_llama.py`, '--stdin'], {
    input: JSON.stringify(settings),
    encoding: 'utf8',
  });
  if (run.status !== 0) return `torch_llama.py failed: ${run.stderr.trim().split('\n').pop()}`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Torch;
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const load = () => loadavg()[0]!.toFixed(2);

async function main(): Promise<void> {
  if (process.argv[2] === '--one') {
    const shape = SHAPES.find((s) => s.label === process.argv[3]);
    if (!shape) throw new Error(`no shape ${process.argv[3]}`);
    console.log(JSON.stringify(await measure(shape.label, shape.config)));
    return;
  }
  const report = await initTensorBackend();
  const backend = `${report.chosen} (${report.reason})`;
  const python = findPython();
  console.log(`# Llama-family speed beside PyTorch`);
  console.log(`backend: ${backend}`);
  console.log(
    `${availableParallelism()} cores; batch ${BATCH} x ${PROMPT + RESPONSE} (response ${RESPONSE}), training micro-batches of ${MICRO}, ` +
      `LoRA r ${LORA.r} alpha ${LORA.alpha}; sampling ${BATCH} x ${PROMPT} prompt + ${NEW_TOKENS} new; ${WARMUP} warm-up + ${STEPS} timed (median)`,
  );
  const picked = process.env.BENCH_ONLY?.split(',');
  const shapes: unknown[] = [];
  for (const { label, config } of SHAPES.filter((s) => !picked || picked.includes(s.label))) {
    const loadBefore = load();
    console.log(`\n## ${label} (load average ${loadBefore} before)`);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--one', label], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 2 ** 20,
    });
    let ours: Ours | null = null;
    try {
      ours = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as Ours;
    } catch {
      console.log(`  ours: failed (exit ${child.status ?? child.signal})`);
    }
    const torchRuns = python ? [1, 2].map((threads) => runTorch(python, config, threads)) : [];
    const torchOk = torchRuns.filter((r): r is Torch => typeof r !== 'string');
    for (const r of torchRuns) if (typeof r === 'string') console.log(`  PyTorch: ${r}`);
    if (!python) console.log('  PyTorch: torch does not import (apt-get install python3-torch)');
    // PyTorch at its best: for each figure, the faster of its thread counts.
    const best = (key: Figure) =>
      torchOk.length === 0 ? null : torchOk.reduce((x, y) => (y[key].tokens_per_s > x[key].tokens_per_s ? y : x));
    if (ours)
      console.log(
        `  ${fmt(ours.parameters)} parameters, ${fmt(ours.trainable)} trainable (LoRA); layers recomputed in training: ${ours.recompute ? 'yes' : 'no'}; ` +
          `ours: wasm heap ${ours.heapMB ?? '-'} MB, peak RSS ${ours.rssMB} MB`,
      );
    for (const r of torchOk)
      console.log(
        `  PyTorch ${r.torch} (${r.blas}), ${r.threads} thread${r.threads === 1 ? '' : 's'}: ` +
          FIGURES.map((f) => `${f.key} ${fmt(r[f.key].tokens_per_s, 1)}`).join(', ') +
          ` tokens/s; peak RSS ${r.max_rss_mb} MB`,
      );
    console.log(`  ${'tokens/s'.padEnd(20)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)}  ratio (target >= 0.8)`);
    const rows = FIGURES.map(({ key, name }) => {
      const o = ours?.[key].tokens_per_s ?? null;
      const t = best(key);
      const theirs = t?.[key].tokens_per_s ?? null;
      const ratio = o !== null && theirs !== null ? o / theirs : null;
      console.log(
        `  ${name.padEnd(20)} ${(o === null ? '-' : fmt(o, 1)).padStart(8)} ${(theirs === null ? '-' : fmt(theirs, 1)).padStart(8)}  ` +
          (ratio === null
            ? '-'
            : `${fmt(ratio, 2)}x${t ? ` (PyTorch at ${t.threads} thread${t.threads === 1 ? '' : 's'})` : ''}`),
      );
      return { figure: key, ours: o, torch: theirs, torchThreads: t?.threads ?? null, ratio };
    });
    const loadAfter = load();
    console.log(`  load average ${loadBefore} before, ${loadAfter} after`);
    shapes.push({ label, ours, torch: torchRuns, rows, loadAverage: { before: loadBefore, after: loadAfter } });
  }
  if (TINY) return;
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(
    `${root}bench/results/llama.json`,
    JSON.stringify(
      {
        commit: commit(),
        date: new Date().toISOString(),
        backend,
        cores: availableParallelism(),
        settings: {
          batch: BATCH,
          micro: MICRO,
          prompt: PROMPT,
          response: RESPONSE,
          newTokens: NEW_TOKENS,
          lora: LORA,
          warmup: WARMUP,
          steps: STEPS,
        },
        shapes,
      },
      null,
      2,
    ),
  );
}

await main();
