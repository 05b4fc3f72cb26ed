/**
 * Writing BF16 safetensors: every float32 rounded to the nearest bfloat16, ties to even (what
 * PyTorch's .to(torch.bfloat16) does), checked bit by bit against an independent rounding written
 * from the definition with exact rationals (BigInt), and read back by our own reader.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '../../src/main/lm/config';
import {
  bf16ToF32,
  f32ToBf16,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../../src/main/lm/safetensors';
import { Rng } from '../../src/main/core/rng';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-bf16-');

function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/**
 * The reference: the two bfloat16 neighbours of x (truncation and the next one up in magnitude),
 * the nearer one by exact distance, the one with an even last bit on a tie. Finite inputs only.
 */
function referenceBf16(bits: number): number {
  const down = bits >>> 16;
  const up = (down + 1) & 0xffff;
  const x = fromBits([bits])[0]!;
  const lo = bf16ToF32(new Uint16Array([down]))[0]!;
  const hi = bf16ToF32(new Uint16Array([up]))[0]!;
  // Distances exactly: float32s and bfloat16s are dyadic rationals, exact in float64 differences here.
  const dLo = Math.abs(x - lo);
  const dHi = Number.isFinite(hi) ? Math.abs(hi - x) : Math.abs(2 ** 128 * Math.sign(x) - x);
  if (dLo < dHi) return down;
  if (dHi < dLo) return up;
  return (down & 1) === 0 ? down : up;
}

describe('f32ToBf16', () => {
  it('rounds to nearest with ties to even', () => {
    const cases: [number, number][] = [
      [0x3f800000, 0x3f80], // 1: exact
      [0x3f808000, 0x3f80], // 1 + 2^-8: a tie, down to even
      [0x3f818000, 0x3f82], // 1 + 3 * 2^-8: a tie, up to even
      [0x3f808001, 0x3f81], // just above the tie: up
      [0x3f807fff, 0x3f80], // just below: down
      [0xbf808001, 0xbf81], // negative: by magnitude
      [0x00000000, 0x0000],
      [0x80000000, 0x8000], // -0 keeps its sign
      [0x7f800000, 0x7f80], // +inf
      [0xff800000, 0xff80], // -inf
      [0x7f7fffff, 0x7f80], // the largest float32 rounds to infinity, as PyTorch's does
      [0x00008000, 0x0000], // a subnormal tie: down to even (zero)
      [0x00018000, 0x0002], // a subnormal tie: up to even
    ];
    const out = f32ToBf16(fromBits(cases.map(([b]) => b)));
    expect([...out].map((b) => b.toString(16))).toEqual(cases.map(([, want]) => want.toString(16)));
  });

  it('keeps NaN a NaN of its sign, where rounding would carry it into infinity', () => {
    const out = f32ToBf16(fromBits([0x7fffffff, 0xffffffff, 0x7f800001, 0x7fc00000]));
    const back = bf16ToF32(out);
    expect([...back].every(Number.isNaN)).toBe(true);
    expect(out[0]! >>> 15).toBe(0);
    expect(out[1]! >>> 15).toBe(1);
  });

  it('equals the nearest-even reference on random finite floats and is within half a bfloat16 ulp', () => {
    const rng = new Rng(7);
    const bits: number[] = [];
    while (bits.length < 20000) {
      const b = Math.floor(rng.uniform() * 2 ** 32) >>> 0;
      if ((b & 0x7f800000) === 0x7f800000) continue; // inf and NaN are checked above
      if ((b & 0x7fffffff) >= 0x7f7f8000) continue; // rounds past the largest bfloat16: checked above
      bits.push(b);
    }
    // A quarter of them ties, which random bits almost never are.
    for (let i = 0; i < bits.length; i += 4) bits[i] = ((bits[i]! & 0xffff0000) | 0x8000) >>> 0;
    const got = f32ToBf16(fromBits(bits));
    const x = fromBits(bits);
    const back = bf16ToF32(got);
    for (let i = 0; i < bits.length; i++) {
      expect(got[i], `0x${bits[i]!.toString(16)}`).toBe(referenceBf16(bits[i]!));
      // bfloat16 keeps 8 significant bits: half an ulp is at most 2^-8 of the value (normals).
      if (Math.abs(x[i]!) > 1e-37) expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -8);
    }
  });
});

describe('writeSafetensors with dtype BF16', () => {
  it('writes BF16 entries that read back as the rounded values, in order, with the metadata', () => {
    const rng = new Rng(3);
    const tensors: NamedTensors = new Map([
      ['b', { shape: [3], data: Float32Array.from({ length: 3 }, () => rng.normal()) }],
      ['a.weight', { shape: [2, 5], data: Float32Array.from({ length: 10 }, () => rng.normal()) }],
      ['empty', { shape: [0], data: new Float32Array(0) }],
    ]);
    const path = join(tempDir(), 'model.safetensors');
    writeSafetensors(path, tensors, { format: 'pt' }, { dtype: 'BF16' });
    const header = readSafetensorsHeader(path);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...header.entries].map(([name, e]) => [name, e.dtype, e.end - e.begin])).toEqual([
      ['b', 'BF16', 6],
      ['a.weight', 'BF16', 20],
      ['empty', 'BF16', 0],
    ]);
    const { tensors: back } = readSafetensors(path);
    for (const [name, { shape, data }] of tensors) {
      expect(back.get(name)!.shape).toEqual(shape);
      expect([...back.get(name)!.data]).toEqual([...bf16ToF32(f32ToBf16(data))]);
    }
    // Rounded, not truncated: some value differs from its truncation.
    const all = tensors.get('a.weight')!.data;
    const truncated = bf16ToF32(new Uint16Array([...new Uint32Array(all.buffer)].map((b) => b >>> 16)));
    expect([...back.get('a.weight')!.data]).not.toEqual([...truncated]);
  });

  it('refuses a dtype it cannot write', () => {
    const tensors: NamedTensors = new Map([['x', { shape: [1], data: new Float32Array([1]) }]]);
    const path = join(tempDir(), 'x.safetensors');
    expect(() => writeSafetensors(path, tensors, {}, { dtype: 'F16' as 'BF16' })).toThrow(/F32 or BF16/);
  });
});
