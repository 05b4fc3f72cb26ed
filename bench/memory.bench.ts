/**
 * `npm run bench:memory` (tsx bench/memory.bench.ts): what real sizes cost to train on this machine's
 * default tensor backend, figures only. Each row runs in its own process (a wasm heap never shrinks,
 * and an out-of-memory abort ends the module), with random weights at a real model's shape:
 *
 * - GPT-2 small (124M): NLL and A-LoL, full fine-tuning and LoRA (r 8 on every projection);
 * - the SmolLM2-135M shape (30 layers, d 576, 9 heads, 3 KV heads, MLP 1536, vocab 49,152, tied): LoRA;
 * - the Qwen2.5-0.5B shape (24 layers, d 896, 14 heads, 2 KV heads, MLP 4,864, vocab 151,936, tied,
 *   q/k/v biases): LoRA, and KV-cache sampling.
 *
 * A step is a batch of 8 examples of 256 tokens (128 prompt, 128 response), in micro-batches of
 * BENCH_MICRO (default 2). Printed per row: parameters, the wasm heap's high-water mark (of its 4 GB),
 * the process's peak RSS, seconds per step and tokens per second, or the error that ended it.
 * BENCH_STEPS (default 2; the first is a warm-up when there are two), BENCH_ONLY=label,label picks rows.
 * Results go to bench/results/memory.json with the backend, the machine and the commit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { a_lol } from '../src/main/alol/losses/aLol';
import { Rng } from '../src/main/core/rng';
import { padRight, type Example } from '../src/main/lm/batch';
import type { CausalLm } from '../src/main/lm/causalLm';
import { generate } from '../src/main/lm/generate';
import { tokenLogprobs } from '../src/main/lm/logprobs';
import { LoraAdapters, LORA_TARGETS } from '../src/main/lm/lora';
import { AdamW } from '../src/main/lm/optim';
import { initTensorBackend } from '../src/main/lm/tensorBackend';
import { trainStep } from '../src/main/lm/trainer';
import { initModel, shapeOf, type ModelConfig } from '../src/main/models/modelFamily';
import { GPT2_SMALL, QWEN25_05B, SMOLLM2_135M } from './shapes';
import { recomputeLayers } from '../src/main/lm/trainingMemory';

const root = fileURLToPath(new URL('..', import.meta.url));
const STEPS = Number(process.env.BENCH_STEPS ?? 2);
const MICRO = Number(process.env.BENCH_MICRO ?? 2);
const BATCH = 8;
const PROMPT = 128;
const RESPONSE = 128;

interface Row {
  label: string;
  config: ModelConfig;
  algo: 'nll' | 'a_lol' | 'sample';
  lora: boolean;
}

const ROWS: Row[] = [
  { label: 'gpt2-124M nll full', config: GPT2_SMALL, algo: 'nll', lora: false },
  { label: 'gpt2-124M a_lol full', config: GPT2_SMALL, algo: 'a_lol', lora: false },
  { label: 'gpt2-124M a_lol lora', config: GPT2_SMALL, algo: 'a_lol', lora: true },
  { label: 'smollm2-135M a_lol lora', config: SMOLLM2_135M, algo: 'a_lol', lora: true },
  { label: 'qwen2.5-0.5B nll lora', config: QWEN25_05B, algo: 'nll', lora: true },
  { label: 'qwen2.5-0.5B sample', config: QWEN25_05B, algo: 'sample', lora: false },
];

interface Result {
  label: string;
  backend: string;
  parameters: number;
  heapMB: number | null;
  rssMB: number;
  secondsPerStep: number | null;
  tokensPerSecond: number | null;
  error: string | null;
  /** Layers recomputed in the backward pass. */
  recompute?: boolean;
}

export function heapBytes(): number | null {
  // The wasm backend's linear memory: it only grows, so its size is the high-water mark.
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm ? backend.wasm.HEAPU8.buffer.byteLength : null;
}

function examples(rng: Rng, vocab: number): Example[] {
  const tokens = (n: number) => Array.from({ length: n }, () => rng.int(vocab));
  return Array.from({ length: BATCH }, () => ({ prompt: tokens(PROMPT), response: tokens(RESPONSE) }));
}

/** Per-token log-probs and the response mask of a padded batch, as trainRun computes them. */
export function responseLogps(model: CausalLm, batch: Example[], dropoutSeed: number | null, recompute = false) {
  const padded = padRight(batch, { padId: 0 });
  const lp = tokenLogprobs(model, padded, {
    ...(dropoutSeed === null ? {} : { training: { dropoutSeed } }),
    recompute,
  });
  const mask = tf.tidy(() =>
    tf.slice(tf.tensor2d(padded.responseMask, [padded.batchSize, padded.length]), [0, 1], [-1, -1]),
  ) as tf.Tensor2D;
  return { lp, mask };
}

async function runOne(row: Row): Promise<Result> {
  const report = await initTensorBackend();
  const rng = new Rng(1);
  const model = initModel(row.config, rng);
  const parameters = [...model.params.values()].reduce((n, v) => n + v.size, 0);
  const result = (seconds: number | null, tokens: number | null): Result => ({
    label: row.label,
    backend: report.chosen,
    parameters,
    heapMB: heapBytes() === null ? null : Math.round(heapBytes()! / 2 ** 20),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    secondsPerStep: seconds,
    tokensPerSecond: tokens,
    error: null,
  });
  if (row.algo === 'sample') {
    const prompts = examples(rng, row.config.vocabSize).map((e) => e.prompt);
    const t0 = performance.now();
    const out = generate(model, prompts, { maxNewTokens: 32, greedy: true });
    const seconds = (performance.now() - t0) / 1000;
    const generated = out.ids.reduce((n, t) => n + t.length, 0);
    return result(seconds, generated / seconds);
  }
  const lora = row.lora
    ? LoraAdapters.attach(model, { r: 8, alpha: 16, dropout: 0, targets: targetsFor(row.config) }, rng)
    : null;
  const reference: CausalLm | null =
    row.algo === 'a_lol' ? (lora ? lora.reference() : initModel(row.config, new Rng(1))) : null;
  const trained = lora ? lora.params : model.params;
  const optimizer = new AdamW(trained, { lr: 1e-5, weightDecay: 0.01 });
  // As trainRun decides (trainingMemory.ts); BENCH_RECOMPUTE=0 or 1 overrides.
  const recompute =
    process.env.BENCH_RECOMPUTE === undefined
      ? recomputeLayers(shapeOf(row.config), MICRO, PROMPT + RESPONSE)
      : process.env.BENCH_RECOMPUTE === '1';
  let last = 0;
  for (let s = 0; s < STEPS; s++) {
    const batch = examples(rng, row.config.vocabSize);
    const micro: { batch: Example[]; seed: number }[] = [];
    for (let i = 0; i < BATCH; i += MICRO) micro.push({ batch: batch.slice(i, i + MICRO), seed: rng.seed() });
    const refs = new Map(micro.map((mb) => [mb, reference ? responseLogps(reference, mb.batch, null).lp : null]));
    const t0 = performance.now();
    trainStep({
      params: trained,
      optimizer,
      microBatches: micro,
      lr: 1e-5,
      maxGradNorm: 1,
      loss: (mb) => {
        const { lp, mask } = responseLogps(model, mb.batch, mb.seed, recompute);
        if (row.algo === 'nll') return tf.neg(tf.div(tf.sum(tf.mul(lp, mask)), tf.sum(mask))) as tf.Scalar;
        const advantage = tf.ones([mb.batch.length]) as tf.Tensor1D;
        return a_lol({ lp, mask, lpRef: refs.get(mb)!, advantage }, { eps: 0.9 }).loss;
      },
    });
    last = (performance.now() - t0) / 1000;
    for (const t of refs.values()) t?.dispose();
  }
  return { ...result(last, (BATCH * (PROMPT + RESPONSE)) / last), recompute };
}

export function targetsFor(config: ModelConfig) {
  return 'architecture' in config ? [...LORA_TARGETS] : LORA_TARGETS.filter((t) => t !== 'gate');
}

export function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const only = process.argv[2] === '--one' ? process.argv[3] : undefined;
  if (only !== undefined) {
    const row = ROWS.find((r) => r.label === only);
    if (!row) throw new Error(`no row ${only}`);
    console.log(JSON.stringify(await runOne(row)));
    return;
  }
  const picked = process.env.BENCH_ONLY?.split(',');
  const results: Result[] = [];
  console.log(`${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB; batch ${BATCH} x ${PROMPT + RESPONSE}`);
  console.log(
    `${'row'.padEnd(26)} ${'params'.padStart(7)} ${'heap MB'.padStart(8)} ${'RSS MB'.padStart(7)} s/step  tok/s`,
  );
  for (const row of ROWS.filter((r) => !picked || picked.includes(r.label))) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--one', row.label],
      {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      },
    );
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let r: Result;
    try {
      r = JSON.parse(line) as Result;
    } catch {
      const error = (child.stderr || child.stdout).trim().split('\n').slice(-3).join(' | ');
      r = {
        label: row.label,
        backend: '?',
        parameters: 0,
        heapMB: null,
        rssMB: 0,
        secondsPerStep: null,
        tokensPerSecond: null,
        error: `exit ${child.status ?? child.signal}: ${error.slice(0, 300)}`,
      };
    }
    results.push(r);
    const params = r.parameters ? `${(r.parameters / 1e6).toFixed(0)}M` : '?';
    console.log(
      `${r.label.padEnd(26)} ${params.padStart(7)} ${String(r.heapMB ?? '-').padStart(8)} ${String(r.rssMB).padStart(7)} ` +
        (r.error ??
          `${r.secondsPerStep?.toFixed(1)}  ${r.tokensPerSecond?.toFixed(0)}${r.recompute ? '  (layers recomputed)' : ''}`),
    );
  }
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(
    `${root}/bench/results/memory.json`,
    JSON.stringify({ commit: commit(), date: new Date().toISOString(), cores: cpus().length, results }, null, 2),
  );
}

// Run when started, not when bench/llama.bench.ts imports its shapes and helpers.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
