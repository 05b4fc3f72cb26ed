/**
 * The native BLAS matrix product (nativeBlas.ts, native/blas): the wasm backend's BatchMatMul
 * computed by OpenBLAS on the wasm heap must equal the stock wasm kernel for every transpose flag,
 * batch shape and broadcast, the model's gradients must not move, and when the addon or the library is missing or switched off, the stock
 * kernel must run and the backend report must say why.
 *
 * Nothing is skipped: where the addon is not built (or no BLAS is installed), the same tests check
 * that the fallback runs and is reported. CI (CI=true on Linux, with libopenblas0-pthread installed
 * by .ci/run) must take the BLAS path.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { padRight } from '../../../src/main/lm/batch';
import type { GptConfig } from '../../../src/main/lm/config';
import { Gpt } from '../../../src/main/lm/model';
import {
  blasLibraryCandidates,
  blasThreadsFor,
  nativeBlasActive,
  nativeBlasStatus,
  setNativeBlasEnabled,
  type NativeBlasStatus,
} from '../../../src/main/lm/nativeBlas';
import { lmLoss, type LmMicroBatch } from '../../helpers/lmLoss';
import { Rng } from '../../../src/main/core/rng';
import { gradientSum } from '../../../src/main/lm/trainer';
import type { TensorBackendReport } from '../../../src/shared/contract';

const CONFIG: GptConfig = {
  vocabSize: 61,
  nPositions: 24,
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  dropout: 0.1,
  bosTokenId: 0,
  eosTokenId: 60,
};

/** What this machine should give, found without nativeBlas.ts: is the addon built, and does a BLAS load? */
function expected(): { available: true } | { available: false; why: RegExp } {
  let mod: { addon: { open(names: string[]): unknown } | null; error: string | null };
  try {
    mod = createRequire(import.meta.url)('alol-blas') as typeof mod;
  } catch {
    return { available: false, why: /native BLAS addon not built: the optional package alol-blas is not installed/ };
  }
  if (!mod.addon) return { available: false, why: /native BLAS addon not built: / };
  try {
    mod.addon.open(blasLibraryCandidates());
    return { available: true };
  } catch {
    return { available: false, why: /native BLAS addon built, but no usable BLAS library/ };
  }
}

const machine = expected();
let report: TensorBackendReport;
let status: NativeBlasStatus;

beforeAll(async () => {
  report = await initTensorBackend({ name: 'wasm', by: 'test' });
  await tf.setBackend('wasm');
  status = nativeBlasStatus();
});

function random(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** max |a - b| / max |b|: the relative error of a whole result. */
function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** The same call with the BLAS kernel on (when installed) and with the stock wasm kernel. */
function bothKernels<T>(f: () => T): { blas: T; wasm: T } {
  const was = nativeBlasStatus().active;
  try {
    setNativeBlasEnabled(true);
    const blas = f();
    setNativeBlasEnabled(false);
    const wasm = f();
    return { blas, wasm };
  } finally {
    setNativeBlasEnabled(was);
  }
}

describe('the backend report', () => {
  it('says what computes wasm matrix products, or why the wasm kernel does', () => {
    expect(report.chosen).toBe('wasm');
    const wasm = report.candidates.find((c) => c.name === 'wasm')!;
    expect(report.reason).toContain(status.summary);
    expect(wasm.detail).toContain(status.summary);
    if (machine.available) {
      expect(status).toMatchObject({ active: true, installed: true });
      expect(status.summary).toMatch(/^wasm \+ (OpenBLAS|BLIS|MKL|Accelerate) matmul \(\S+/);
      expect(report.reason).toContain(`wasm + ${status.vendor} matmul (${status.library}`);
      // This process trains alone: up to 2 BLAS threads (ALOL_BLAS_THREADS aside).
      if (status.vendor === 'OpenBLAS' && !process.env.ALOL_BLAS_THREADS)
        expect(status.threads).toBe(Math.min(2, availableParallelism()));
    } else {
      expect(status).toMatchObject({ active: false, installed: false, library: null });
      expect(status.summary).toMatch(machine.why);
      expect(report.reason).toMatch(machine.why);
    }
  });

  it('is on the BLAS path in CI, where .ci/run installs libopenblas0-pthread', () => {
    // Elsewhere either path is right, as long as the report says which (the test above).
    if (process.env.CI === 'true' && process.platform === 'linux') {
      expect(
        machine,
        `CI must build native/blas and load a BLAS (apt-get install libopenblas0-pthread): ${status.summary}`,
      ).toEqual({ available: true });
    }
    expect(nativeBlasActive()).toBe(machine.available);
  });

  it('can be switched off (ALOL_NATIVE_BLAS=0), and the stock kernel then runs and is reported', () => {
    const probe = runProbe({ ALOL_NATIVE_BLAS: '0' });
    expect(probe.status).toMatchObject({ active: false, installed: false });
    expect(probe.status.summary).toBe('wasm matmul (native BLAS turned off by ALOL_NATIVE_BLAS=0)');
    expect(probe.report.reason).toBe('wasm matmul (native BLAS turned off by ALOL_NATIVE_BLAS=0); forced by probe');
    expect(probe.productError).toBeLessThan(1e-4);
  });

  it('falls back when the BLAS library cannot be loaded, and says so', () => {
    const probe = runProbe({ ALOL_BLAS_LIBRARY: 'libalol-no-such-blas.so.7' });
    expect(probe.status.active).toBe(false);
    expect(probe.status.summary).toMatch(
      machine.available
        ? /native BLAS addon built, but no usable BLAS library \(libalol-no-such-blas\.so\.7: /
        : machine.why,
    );
    expect(probe.report.reason).toContain(probe.status.summary);
    expect(probe.productError).toBeLessThan(1e-4);
  });

  it('uses the BLAS in a separate process by default, with the same product', () => {
    const probe = runProbe({});
    expect(probe.status.active).toBe(machine.available);
    expect(probe.productError).toBeLessThan(1e-4);
  });
});

const probeScript = fileURLToPath(new URL('./probe.ts', import.meta.url));

function runProbe(env: Record<string, string>): {
  report: TensorBackendReport;
  status: NativeBlasStatus;
  productError: number;
} {
  const clean = { ...process.env };
  delete clean.ALOL_NATIVE_BLAS;
  delete clean.ALOL_BLAS_LIBRARY;
  const run = spawnSync(process.execPath, ['--import', 'tsx', probeScript], {
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`probe failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as ReturnType<typeof runProbe>;
}

/** op(a) @ op(b) in float64 loops; a batch of one (or a missing batch) on either side is repeated. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float64Array {
  const [av, bv] = [a.dataSync(), b.dataSync()];
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [a1, a2, b1, b2] = [a.shape[ra - 2]!, a.shape[ra - 1]!, b.shape[rb - 2]!, b.shape[rb - 1]!];
  const [m, k, n] = [ta ? a2 : a1, ta ? a1 : a2, tb ? b1 : b2];
  const batchA = a.size / (a1 * a2);
  const batchB = b.size / (b1 * b2);
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const ao = (batchA === 1 ? 0 : i) * a1 * a2;
    const bo = (batchB === 1 ? 0 : i) * b1 * b2;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let q = 0; q < k; q++)
          sum += av[ao + (ta ? q * a2 + r : r * a2 + q)]! * bv[bo + (tb ? c * b2 + q : q * b2 + c)]!;
        out[(i * m + r) * n + c] = sum;
      }
    }
  }
  return out;
}

describe('the BLAS BatchMatMul', () => {
  // (a shape, b shape) before the flags are applied: [batch..., M, K] and [batch..., K, N].
  const cases: { name: string; a: number[]; b: number[] }[] = [
    { name: '2-D', a: [37, 29], b: [29, 23] },
    { name: '2-D, a row vector (decoding)', a: [1, 64], b: [64, 48] },
    { name: '2-D, a column (N = 1)', a: [40, 16], b: [16, 1] },
    { name: '2-D, K = 1 (an outer product)', a: [12, 1], b: [1, 9] },
    { name: '2-D, large enough for 2 BLAS threads', a: [512, 256], b: [256, 160] },
    { name: 'batched, rank 3', a: [6, 19, 13], b: [6, 13, 11] },
    { name: 'batched, rank 4 (batch, heads)', a: [2, 3, 17, 8], b: [2, 3, 8, 17] },
    { name: 'a batch of one against many (broadcast)', a: [1, 9, 7], b: [5, 7, 4] },
    { name: 'many against a batch of one (broadcast)', a: [5, 9, 7], b: [1, 7, 4] },
    { name: 'rank 3 against rank 2 (broadcast)', a: [4, 10, 6], b: [6, 5] },
  ];
  const flags: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];

  for (const c of cases) {
    for (const [ta, tb] of flags) {
      it(`${c.name}, transposeA=${ta}, transposeB=${tb}: the wasm kernel's result within 1e-4`, () => {
        const rng = new Rng(c.a.length * 100 + c.b[0]! + (ta ? 7 : 0) + (tb ? 13 : 0));
        // Shapes as the flags expect them: swap the last two axes of a transposed operand.
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s);
        const a = random(rng, swap(c.a, ta));
        const b = random(rng, swap(c.b, tb));
        const { blas, wasm } = bothKernels(() => {
          const y = tf.matMul(a, b, ta, tb);
          return { shape: y.shape, values: y.dataSync().slice() };
        });
        expect(blas.shape).toEqual(wasm.shape);
        expect(relative(blas.values, wasm.values)).toBeLessThan(1e-4);
        // And against plain loops in float64, so both kernels are checked, not only alike.
        expect(relative(blas.values, reference(a, b, ta, tb))).toBeLessThan(1e-5);
        a.dispose();
        b.dispose();
      });
    }
  }

  it('leaves no tensors or heap behind', () => {
    const rng = new Rng(3);
    const a = random(rng, [4, 32, 16]);
    const b = random(rng, [4, 16, 8]);
    // The backend's own count too: an output made in the kernel and dropped would show only there.
    const count = () => ({ ...tf.memory(), dataIds: tf.engine().backend.numDataIds() });
    const before = count();
    for (let i = 0; i < 20; i++) tf.matMul(a, b, false, false).dispose();
    for (let i = 0; i < 20; i++) tf.matMul(b, a, true, true).dispose();
    tf.tidy(() => void tf.matMul(a, b));
    const after = count();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.dataIds).toBe(before.dataIds);
    a.dispose();
    b.dispose();
  });

  it("still refuses mismatched shapes with the wasm kernel's error", () => {
    const a = tf.zeros([3, 4]);
    const b = tf.zeros([5, 6]);
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes \(4\) and \(5\)/);
    a.dispose();
    b.dispose();
  });

  it('puts only large single products on more than one BLAS thread', () => {
    expect(blasThreadsFor(2048, 1024, 256, 1, 2)).toBe(2);
    expect(blasThreadsFor(2048, 1024, 256, 1, 1)).toBe(1);
    expect(blasThreadsFor(8, 256, 1024, 1, 2)).toBe(1); // a decoding step
    expect(blasThreadsFor(128, 128, 64, 64, 2)).toBe(1); // one batched attention product per head
  });
});

describe('the model on the BLAS', () => {
  function microBatch(seed: number): LmMicroBatch {
    const rng = new Rng(seed);
    const examples = Array.from({ length: 3 }, (_, i) => ({
      prompt: Array.from({ length: 2 + i }, () => rng.int(CONFIG.vocabSize)),
      response: Array.from({ length: 9 + 4 * i }, () => rng.int(CONFIG.vocabSize)),
    }));
    return { batch: padRight(examples, { padId: CONFIG.eosTokenId }), dropoutSeed: null };
  }

  it("gives the loss and every parameter's gradient of the wasm kernel within 1e-4", () => {
    const model = Gpt.init(CONFIG, new Rng(5));
    // Weights well away from init, so the softmaxes are peaked and a wrong product shows.
    for (const [, p] of model.params)
      tf.tidy(() =>
        p.assign(tf.add(p, tf.mul(tf.randomNormal(p.shape, 0, 0.3, 'float32', 7), p.shape.length === 2 ? 1 : 0.5))),
      );
    const mb = microBatch(8);
    const { blas, wasm } = bothKernels(() => {
      const g = gradientSum(model.params, [mb], (m) => lmLoss(model, m));
      const grads = new Map([...g.sum].map(([name, t]) => [name, t.dataSync().slice()]));
      for (const t of g.sum.values()) t.dispose();
      return { loss: g.losses[0]!, grads };
    });
    expect(Math.abs(blas.loss - wasm.loss) / Math.abs(wasm.loss)).toBeLessThan(1e-5);
    expect([...blas.grads.keys()].sort()).toEqual([...wasm.grads.keys()].sort());
    for (const [name, g] of wasm.grads) expect(relative(blas.grads.get(name)!, g), name).toBeLessThan(1e-4);
    model.dispose();
  });
});

describe('the BLAS BatchMatMul on the cpu backend (models past the wasm heap)', () => {
  const cases: { name: string; a: number[]; b: number[] }[] = [
    { name: '2-D', a: [37, 29], b: [29, 23] },
    { name: 'batched, rank 4 (batch, heads)', a: [2, 3, 17, 8], b: [2, 3, 8, 17] },
    { name: 'a batch of one against many (broadcast)', a: [1, 9, 7], b: [5, 7, 4] },
    { name: 'rank 3 against rank 2 (broadcast)', a: [4, 10, 6], b: [6, 5] },
  ];

  it('multiplies on the BLAS there too where it is installed, equal to plain loops in float64, leaving nothing behind', async () => {
    await tf.setBackend('cpu');
    try {
      expect(nativeBlasActive()).toBe(status.active);
      for (const c of cases) {
        for (const [ta, tb] of [
          [false, false],
          [true, true],
          [false, true],
        ] as const) {
          const rng = new Rng(c.a.length * 10 + (ta ? 1 : 0) + (tb ? 2 : 0));
          const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s.at(-1)!, s.at(-2)!] : s);
          const a = random(rng, swap(c.a, ta));
          const b = random(rng, swap(c.b, tb));
          const before = tf.memory().numTensors;
          const { blas, js } = (() => {
            const run = () => {
              const y = tf.matMul(a, b, ta, tb);
              const out = { shape: y.shape, values: y.dataSync().slice() };
              y.dispose();
              return out;
            };
            const was = nativeBlasStatus().active;
            setNativeBlasEnabled(true);
            const blas = run();
            setNativeBlasEnabled(false);
            const js = run();
            setNativeBlasEnabled(was);
            return { blas, js };
          })();
          expect(tf.memory().numTensors).toBe(before);
          expect(blas.shape).toEqual(js.shape);
          expect(relative(blas.values, reference(a, b, ta, tb)), `${c.name} ${ta} ${tb}`).toBeLessThan(1e-5);
          expect(relative(js.values, reference(a, b, ta, tb))).toBeLessThan(1e-5);
          a.dispose();
          b.dispose();
        }
      }
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
