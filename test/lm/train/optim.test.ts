import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { GPT2_SMALL, parameterShapes } from '../../../src/main/lm/config';
import { AdamW, clipFactor, decayByDefault, globalNorm, type MomentPlace } from '../../../src/main/lm/optim';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, ReferenceAdamW } from './tiny';

beforeAll(async () => {
  await initTensorBackend({ name: 'wasm', by: 'test' });
});

/** AdamW with its moments kept at `place`, whatever else the test passes. */
function optimizerOn(place: MomentPlace) {
  return class extends AdamW {
    constructor(
      params: Map<string, tf.Variable>,
      config: ConstructorParameters<typeof AdamW>[1] = {},
      decay: (name: string) => boolean = decayByDefault,
    ) {
      super(params, config, decay, place);
    }
  };
}

function values(t: tf.Tensor): number[] {
  return [...t.dataSync()];
}

for (const place of ['host', 'device'] as const satisfies readonly MomentPlace[]) {
  describe(`AdamW, moments on the ${place}`, () => {
    // Every optimizer below keeps its moments where this block says.
    const AdamW = optimizerOn(place);

    it('matches hand-computed values for three steps, with weight decay and bias correction', () => {
      // Named like a linear layer's matrix, so the default predicate decays it.
      const params = new Map([['mlp.c_fc.weight', tf.variable(tf.tensor1d([1, -2]))]]);
      const opt = new AdamW(params, { lr: 0.1, weightDecay: 0.1 });
      const p = params.get('mlp.c_fc.weight')!;
      const step = (g: number[]) => tf.tidy(() => opt.apply(new Map([['mlp.c_fc.weight', tf.tensor1d(g)]])));

      // t=1: decay 1 -> 0.99; m = 0.1 g; v = 0.001 g^2; bias correction makes m-hat/sqrt(v-hat) = sign(g)
      // (less eps), so p = 0.99 * p - 0.1 * sign(g): [0.89, -1.88].
      step([0.5, -0.1]);
      expect(values(p)[0]).toBeCloseTo(0.89, 6);
      expect(values(p)[1]).toBeCloseTo(-1.88, 6);
      // t=2, g = [0.2, 0.3]: p = 0.8811 - (0.1 / 0.19) * m / (sqrt(v / 0.001999) + 1e-8) with
      // m = [0.065, 0.021], v = [0.00028975, 0.00009999]: [0.79124248, -1.91061899].
      step([0.2, 0.3]);
      expect(values(p)[0]).toBeCloseTo(0.79124248, 6);
      expect(values(p)[1]).toBeCloseTo(-1.91061899, 6);
      // t=3, g = [-0.4, 0]: a zero gradient still decays the weight and moves it by the old momentum.
      step([-0.4, 0]);
      expect(values(p)[0]).toBeCloseTo(0.76570217, 6);
      expect(values(p)[1]).toBeCloseTo(-1.92971382, 6);
      const state = opt.state();
      expect(state.step).toBe(3);
      expect([...state.m.get('mlp.c_fc.weight')!.data].map((x) => Number(x.toFixed(6)))).toEqual([0.0185, 0.0189]);
      expect(state.v.get('mlp.c_fc.weight')!.data[0]).toBeCloseTo(0.00044946025, 9);
      opt.dispose();
      p.dispose();
    });

    it('adds eps after the bias correction of sqrt(v), as PyTorch', () => {
      // With eps = 0.1, t = 1, g = 0.5: denom = sqrt(0.00025) / sqrt(0.001) + 0.1 = 0.6, so p = 1 - 0.05 / 0.6.
      // Adding eps before dividing by sqrt(1 - b2) would give denom 3.66 and p = 0.9863.
      const params = new Map([['mlp.c_fc.bias', tf.variable(tf.tensor1d([1]))]]);
      const opt = new AdamW(params, { lr: 0.1, eps: 0.1, weightDecay: 0 });
      tf.tidy(() => opt.apply(new Map([['mlp.c_fc.bias', tf.tensor1d([0.5])]])));
      expect(values(params.get('mlp.c_fc.bias')!)[0]).toBeCloseTo(1 - 0.05 / 0.6, 6);
      opt.dispose();
      params.get('mlp.c_fc.bias')!.dispose();
    });

    it('follows a float64 reference over 10 steps to 1e-6, decayed and undecayed parameters alike', () => {
      const rng = new Rng(7);
      const init = (n: number) => Array.from({ length: n }, () => rng.normal());
      const w0 = init(12);
      const b0 = init(3);
      const params = new Map<string, tf.Variable>([
        ['h.0.attn.c_attn.weight', tf.variable(tf.tensor2d(w0, [4, 3]))],
        ['h.0.attn.c_attn.bias', tf.variable(tf.tensor1d(b0))],
      ]);
      const cfg = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
      const opt = new AdamW(params, { ...cfg, lr: 0.01 });
      const refW = new ReferenceAdamW([...w0], { ...cfg, decay: true });
      const refB = new ReferenceAdamW([...b0], { ...cfg, decay: false });
      for (let step = 0; step < 10; step++) {
        const lr = 0.01 * (1 - step / 20);
        // Float32 gradients, so both sides see exactly the same numbers.
        const gw = [...Float32Array.from(init(12))];
        const gb = [...Float32Array.from(init(3))];
        tf.tidy(() =>
          opt.apply(
            new Map<string, tf.Tensor>([
              ['h.0.attn.c_attn.weight', tf.tensor2d(gw, [4, 3])],
              ['h.0.attn.c_attn.bias', tf.tensor1d(gb)],
            ]),
            lr,
          ),
        );
        refW.step(gw, lr);
        refB.step(gb, lr);
        expect(maxAbsDiff(params.get('h.0.attn.c_attn.weight')!.dataSync(), refW.p)).toBeLessThan(1e-6);
        expect(maxAbsDiff(params.get('h.0.attn.c_attn.bias')!.dataSync(), refB.p)).toBeLessThan(1e-6);
      }
      opt.dispose();
      for (const v of params.values()) v.dispose();
    });

    it('decays linear matrices only: not biases, layer norms or embeddings', () => {
      expect(decayByDefault('h.3.attn.c_attn.weight')).toBe(true);
      expect(decayByDefault('h.3.mlp.c_proj.weight')).toBe(true);
      expect(decayByDefault('h.3.mlp.c_proj.bias')).toBe(false);
      expect(decayByDefault('h.3.ln_1.weight')).toBe(false);
      expect(decayByDefault('ln_f.weight')).toBe(false);
      expect(decayByDefault('wte.weight')).toBe(false);
      expect(decayByDefault('wpe.weight')).toBe(false);

      // Over a real GPT-2 layout: exactly the four projection matrices of each block.
      const names = [...parameterShapes({ ...GPT2_SMALL, nLayer: 2 }).keys()];
      expect(names.filter(decayByDefault)).toEqual(
        [0, 1].flatMap((i) =>
          ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `h.${i}.${m}.weight`),
        ),
      );

      // With a zero gradient, only decay moves a parameter; a custom predicate can decay everything.
      const params = new Map([
        ['ln_f.weight', tf.variable(tf.tensor1d([2]))],
        ['mlp.c_fc.weight', tf.variable(tf.tensor1d([2]))],
      ]);
      const zero = () => new Map([...params.keys()].map((k) => [k, tf.zeros([1])]));
      const byDefault = new AdamW(params, { lr: 0.5, weightDecay: 0.1 });
      const g = zero();
      byDefault.apply(g);
      expect(values(params.get('ln_f.weight')!)).toEqual([2]);
      expect(values(params.get('mlp.c_fc.weight')!)[0]).toBeCloseTo(2 * 0.95, 6);
      const everything = new AdamW(params, { lr: 0.5, weightDecay: 0.1 }, () => true);
      everything.apply(g);
      expect(values(params.get('ln_f.weight')!)[0]).toBeCloseTo(2 * 0.95, 6);
      for (const t of g.values()) t.dispose();
      byDefault.dispose();
      everything.dispose();
      for (const v of params.values()) v.dispose();
    });

    it('saves its state as plain Float32Arrays, and a loaded state continues the same trajectory', () => {
      const make = () => new Map([['mlp.c_fc.weight', tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]))]]);
      const grads = [1, 2, 3, 4, 5].map((k) => [0.1 * k, -0.2, 0.3 / k, 0.05]);
      const gradMap = (g: number[]) => new Map([['mlp.c_fc.weight', tf.tensor2d(g, [2, 2])]]);
      const a = make();
      const optA = new AdamW(a, { lr: 0.05 });
      for (const g of grads) tf.tidy(() => optA.apply(gradMap(g)));

      const b = make();
      const optB = new AdamW(b, { lr: 0.05 });
      for (const g of grads.slice(0, 2)) tf.tidy(() => optB.apply(gradMap(g)));
      const saved = optB.state();
      expect(saved.m.get('mlp.c_fc.weight')!.data).toBeInstanceOf(Float32Array);
      expect(saved.m.get('mlp.c_fc.weight')!.shape).toEqual([2, 2]);
      const c = new Map([['mlp.c_fc.weight', tf.variable(b.get('mlp.c_fc.weight')!.clone())]]);
      const optC = new AdamW(c, { lr: 0.05 });
      optC.loadState(saved);
      expect(optC.step).toBe(2);
      for (const g of grads.slice(2)) tf.tidy(() => optC.apply(gradMap(g)));
      expect(values(c.get('mlp.c_fc.weight')!)).toEqual(values(a.get('mlp.c_fc.weight')!));

      expect(() => optC.loadState({ ...saved, m: new Map() })).toThrow(/m has 0 entries/);
      for (const o of [optA, optB, optC]) o.dispose();
      for (const m of [a, b, c]) for (const v of m.values()) v.dispose();
    });

    it('leaves no tensor behind', () => {
      const params = new Map([['mlp.c_fc.weight', tf.variable(tf.ones([3, 3]))]]);
      const opt = new AdamW(params);
      const g = new Map([['mlp.c_fc.weight', tf.ones([3, 3])]]);
      opt.apply(g);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) opt.apply(g);
      opt.state();
      expect(tf.memory().numTensors).toBe(before);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before - (place === 'device' ? 2 : 0));
      for (const t of [...params.values(), ...g.values()]) t.dispose();
    });
  });
}

describe('globalNorm and clipFactor', () => {
  it('measure the norm over all gradients together, of the mean when divided', () => {
    // sqrt(3^2 + 4^2 + 12^2) = 13
    const grads = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
    const before = tf.memory().numTensors;
    expect(globalNorm(grads)).toBeCloseTo(13, 5);
    expect(globalNorm(grads, 4)).toBeCloseTo(13 / 4, 5);
    expect(globalNorm([])).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    for (const t of grads) t.dispose();
  });

  it('clip just above the limit and not just below it, by maxNorm / (norm + 1e-6) as PyTorch', () => {
    expect(clipFactor(13, 12.9)).toBeCloseTo(12.9 / (13 + 1e-6), 12);
    expect(clipFactor(13, 13.1)).toBeUndefined();
    expect(clipFactor(13, Infinity)).toBeUndefined();
  });
});

describe('AdamW on the host and on the device', () => {
  it('take bit-identical steps on wasm, with decay, a micro-batch mean and clipping', () => {
    const rng = new Rng(11);
    const shapes: [string, number[]][] = [
      ['h.0.mlp.c_fc.weight', [16, 24]],
      ['h.0.mlp.c_fc.bias', [24]],
      ['wte.weight', [30, 16]],
    ];
    const make = () =>
      new Map(shapes.map(([name, shape]) => [name, tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 3))]));
    const [a, b] = [make(), make()];
    const host = new AdamW(a, { lr: 0.01, weightDecay: 0.1 }, decayByDefault, 'host');
    const device = new AdamW(b, { lr: 0.01, weightDecay: 0.1 }, decayByDefault, 'device');
    for (let step = 0; step < 4; step++) {
      const grads = new Map(
        shapes.map(([name, shape]) => {
          const n = shape.reduce((x, y) => x * y, 1);
          return [
            name,
            tf.tensor(
              Array.from({ length: n }, () => rng.normal() * 3),
              shape,
            ),
          ] as const;
        }),
      );
      const transform = { divideBy: 3, ...(step % 2 === 0 ? { scale: 0.37 } : {}) };
      host.apply(grads, 0.01 * (1 + step), transform);
      device.apply(grads, 0.01 * (1 + step), transform);
      for (const g of grads.values()) g.dispose();
    }
    for (const [name] of shapes)
      expect(Array.from(a.get(name)!.dataSync())).toEqual(Array.from(b.get(name)!.dataSync()));
    const [hs, ds] = [host.state(), device.state()];
    for (const [name, shape] of shapes) {
      expect(hs.m.get(name)!.shape).toEqual(shape);
      expect(Array.from(hs.v.get(name)!.data)).toEqual(Array.from(ds.v.get(name)!.data));
    }
    // A state saved on one side continues on the other.
    device.loadState(hs);
    expect(device.step).toBe(4);
    for (const o of [host, device]) o.dispose();
    for (const m of [a, b]) for (const v of m.values()) v.dispose();
  });

  it('keeps no moment tensor on the host: the heap holds only the weights', () => {
    const p = new Map([['w', tf.variable(tf.ones([64, 64]))]]);
    const bytes = tf.memory().numBytes;
    const host = new AdamW(p, {}, decayByDefault, 'host');
    expect(tf.memory().numBytes).toBe(bytes);
    const device = new AdamW(p, {}, decayByDefault, 'device');
    expect(tf.memory().numBytes).toBe(bytes + 2 * 64 * 64 * 4);
    for (const o of [host, device]) o.dispose();
    p.get('w')!.dispose();
  });
});

describe('AdamW construction', () => {
  it('leaves no tensor behind when created and disposed', () => {
    const p = new Map([['w', tf.variable(tf.ones([3, 2]), true, 'leakcheck.w')]]);
    const before = tf.memory().numTensors;
    const opt = new AdamW(p);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    p.get('w')?.dispose();
  });
});
