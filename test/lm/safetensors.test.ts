import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '../../src/main/lm/config';
import { writeFilesAtomically, writeFully } from '../../src/main/core/atomicWrite';
import {
  bf16ToF32,
  f16ToF32,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../../src/main/lm/safetensors';
import { f32Bytes, f64Bytes, fileBytes, layOut, u16Bytes } from '../fixtures/lm/handmade';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-safetensors-');

function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function bitsOf(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)];
}

function f16(bits: number): number {
  return f16ToF32(new Uint16Array([bits]))[0]!;
}

function bf16(bits: number): number {
  return bf16ToF32(new Uint16Array([bits]))[0]!;
}

function put(bytes: Uint8Array, name = 'x.safetensors'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  return path;
}

describe('float16 and bfloat16 decoding', () => {
  it('gives the hand-computed values', () => {
    expect(f16(0x3c00)).toBe(1);
    expect(f16(0xc000)).toBe(-2);
    expect(f16(0x7bff)).toBe(65504); // the largest half
    expect(f16(0x3555)).toBe(0.333251953125); // 1365 / 4096
    expect(f16(0x3bff)).toBe(0.99951171875); // 2047 / 2048
    expect(f16(0x0001)).toBe(5.960464477539063e-8); // the smallest subnormal, 2^-24
    expect(f16(0x03ff)).toBe(6.097555160522461e-5); // the largest subnormal, 1023 * 2^-24
    expect(f16(0x0400)).toBe(6.103515625e-5); // the smallest normal, 2^-14
    expect(Object.is(f16(0x0000), 0)).toBe(true);
    expect(Object.is(f16(0x8000), -0)).toBe(true);
    expect(f16(0x7c00)).toBe(Infinity);
    expect(f16(0xfc00)).toBe(-Infinity);
    expect(f16(0x7e00)).toBeNaN();
    // The NaN payload moves to the top of the float32 mantissa, as hardware conversions do.
    expect(bitsOf(f16ToF32(new Uint16Array([0x7e01, 0xfc01])))).toEqual([0x7fc02000, 0xff802000]);

    expect(bf16(0x3f80)).toBe(1);
    expect(bf16(0xc000)).toBe(-2);
    expect(bf16(0x4049)).toBe(3.140625);
    expect(bf16(0x0001)).toBe(2 ** -133); // a float32 subnormal
    expect(bf16(0x7f80)).toBe(Infinity);
    expect(bf16(0xff80)).toBe(-Infinity);
    expect(bf16(0x7fc0)).toBeNaN();
    expect(Object.is(bf16(0x8000), -0)).toBe(true);
  });

  it('agrees with the IEEE 754 formula on all 65,536 half-precision patterns', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = f16ToF32(all);
    for (let h = 0; h < 65536; h++) {
      const sign = h >= 0x8000 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const want =
        e === 31
          ? m === 0
            ? sign * Infinity
            : NaN
          : e === 0
            ? sign * m * 2 ** -24
            : sign * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(decoded[h], want)) expect.fail(`0x${h.toString(16)}: got ${decoded[h]}, expected ${want}`);
    }
  });
});

describe('reading and writing', () => {
  it('round-trips float32 bits exactly, metadata included', () => {
    const specials = fromBits([
      0x7fc00001, 0xffbfffff, 0x80000000, 0x00000001, 0x7f7fffff, 0x7f800000, 0xff800000, 0x3eaaaaab,
    ]);
    const tensors: NamedTensors = new Map([
      ['specials', { shape: [2, 4], data: specials }],
      ['scalar', { shape: [], data: new Float32Array([Math.PI]) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      // An integer-like name, which a plain object would move to the front of the header.
      ['7', { shape: [3], data: new Float32Array([1, 2, 3]) }],
      ['h.0.attn.c_attn.weight', { shape: [2, 3], data: new Float32Array([0.1, -0.2, 0.3, 1e-30, -1e30, 5]) }],
    ]);
    const path = join(tempDir(), 'model.safetensors');
    writeSafetensors(path, tensors, { format: 'pt', note: 'ünïcödé' });

    const { tensors: back, metadata } = readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcödé' });
    expect([...back.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, { shape, data }] of tensors) {
      expect(back.get(name)!.shape, name).toEqual(shape);
      expect(bitsOf(back.get(name)!.data), name).toEqual(bitsOf(data));
    }

    // The layout a reader on any platform expects: header padded to 8 bytes, tensors in map order.
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(bytes.length).toBe(8 + n + 4 * (8 + 1 + 0 + 3 + 6));
    const header = readSafetensorsHeader(path);
    expect([...header.entries.keys()]).toEqual([...tensors.keys()]);
    expect(header.entries.get('specials')).toEqual({ dtype: 'F32', shape: [2, 4], begin: 0, end: 32 });
    expect(header.dataStart).toBe(8 + n);
  });

  it('reads a file written by hand from the format description, in every float dtype', () => {
    const path = put(
      layOut(
        [
          { name: 'a.f32', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, -2.5, 3.25, 1e-45]) },
          { name: 'b.f16', dtype: 'F16', shape: [3], bytes: u16Bytes([0x3c00, 0xc000, 0x0001]) },
          { name: 'c.bf16', dtype: 'BF16', shape: [2], bytes: u16Bytes([0x3f80, 0x4049]) },
          { name: 'd.f64', dtype: 'F64', shape: [], bytes: f64Bytes([0.1]) },
          { name: 'h.0.attn.bias', dtype: 'BOOL', shape: [1, 2], bytes: new Uint8Array([1, 0]) },
          { name: 'e.empty', dtype: 'F16', shape: [2, 0], bytes: new Uint8Array(0) },
        ],
        { format: 'pt' },
      ),
    );
    const { tensors, metadata } = readSafetensors(path, { skip: (name) => name.endsWith('.attn.bias') });
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()].sort()).toEqual(['a.f32', 'b.f16', 'c.bf16', 'd.f64', 'e.empty']);
    expect(tensors.get('a.f32')).toEqual({ shape: [2, 2], data: new Float32Array([1, -2.5, 3.25, 1e-45]) });
    expect(tensors.get('b.f16')).toEqual({ shape: [3], data: new Float32Array([1, -2, 5.960464477539063e-8]) });
    expect(tensors.get('c.bf16')).toEqual({ shape: [2], data: new Float32Array([1, 3.140625]) });
    expect(tensors.get('d.f64')).toEqual({ shape: [], data: new Float32Array([Math.fround(0.1)]) });
    expect(tensors.get('e.empty')).toEqual({ shape: [2, 0], data: new Float32Array(0) });
    expect(() => readSafetensors(path)).toThrow(`${path}: tensor "h.0.attn.bias": dtype BOOL cannot be read as floats`);
  });

  it('accepts a header padded with spaces and with no metadata', () => {
    const header = `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
    const path = put(fileBytes(header.padEnd(64, ' '), f32Bytes([0.5, -0.5])));
    expect(readSafetensors(path)).toEqual({
      tensors: new Map([['w', { shape: [2], data: new Float32Array([0.5, -0.5]) }]]),
      metadata: {},
    });
  });

  it('refuses to write a tensor whose data does not fit its shape, naming it', () => {
    const path = join(tempDir(), 'bad.safetensors');
    expect(() => writeSafetensors(path, new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]))).toThrow(
      `${path}: tensor "w": shape [2, 2] holds 4 values but data has 3`,
    );
    expect(existsSync(path)).toBe(false);
  });
});

describe('malformed files', () => {
  const tensor = (name: string, begin: number, end: number, dtype = 'F32', shape = [(end - begin) / 4]) => ({
    [name]: { dtype, shape, data_offsets: [begin, end] },
  });
  const file = (entries: object, dataLength: number) =>
    put(fileBytes(JSON.stringify(entries), new Uint8Array(dataLength)));

  const cases: [string, () => string, RegExp][] = [
    ['an empty file', () => put(new Uint8Array(0)), /0 bytes is too short for safetensors/],
    [
      'a header length past the end',
      () => put(fileBytes('{}', new Uint8Array(0), 1000n)),
      /the header length 1000 runs past the end of the file \(2 bytes follow it\)/,
    ],
    [
      'a header length of 2^64 - 1',
      () => put(fileBytes('{}', new Uint8Array(0), 2n ** 64n - 1n)),
      /the header length 18446744073709551615 runs past the end/,
    ],
    [
      'a truncated file',
      () => {
        const whole = layOut([
          { name: 'a', dtype: 'F32', shape: [2], bytes: f32Bytes([1, 2]) },
          { name: 'b', dtype: 'F32', shape: [2], bytes: f32Bytes([3, 4]) },
        ]);
        return put(whole.subarray(0, whole.length - 3));
      },
      /tensor "b": data_offsets \[8, 16\] run past the end of the data \(13 bytes after the header\): the file is truncated/,
    ],
    [
      'overlapping offsets',
      () => file({ ...tensor('a', 0, 8), ...tensor('b', 4, 12) }, 12),
      /tensor "b": data_offsets \[4, 12\] overlap those of tensor "a", which end at 8/,
    ],
    [
      'a gap between tensors',
      () => file({ ...tensor('a', 0, 4), ...tensor('b', 8, 12) }, 12),
      /tensor "b": data_offsets \[8, 12\] leave bytes 4 to 8 of the data unclaimed/,
    ],
    [
      'bytes after the last tensor',
      () => file(tensor('a', 0, 4), 6),
      /2 bytes after the last tensor's data belong to no tensor/,
    ],
    [
      'a shape that does not fit its bytes',
      () => file(tensor('a', 0, 8, 'F32', [3]), 8),
      /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
    [
      'offsets that end before they begin',
      () => file(tensor('a', 8, 4, 'F32', [1]), 8),
      /tensor "a": data_offsets \[8, 4\] end before they begin/,
    ],
    [
      'an unsupported dtype',
      () => file(tensor('ids', 0, 16, 'I64', [2]), 16),
      /tensor "ids": dtype I64 cannot be read as floats \(only F32, F16, BF16, F64\)/,
    ],
    ['an unknown dtype', () => file(tensor('q', 0, 4, 'Q7', [1]), 4), /tensor "q": unknown dtype "Q7"/],
    [
      'a missing dtype',
      () => file({ a: { shape: [1], data_offsets: [0, 4] } }, 4),
      /tensor "a": dtype must be a string/,
    ],
    [
      'a negative dimension',
      () => file(tensor('a', 0, 4, 'F32', [-1]), 4),
      /tensor "a": shape must be a list of non-negative integers, got \[-1\]/,
    ],
    ['invalid JSON', () => put(fileBytes('{"a": ', new Uint8Array(0))), /the header is not valid JSON/],
    [
      'a header that is not an object',
      () => put(fileBytes('[1, 2]', new Uint8Array(0))),
      /the header does not start with "\{"/,
    ],
    [
      'a header that is not UTF-8',
      () => put(fileBytes('{"\xff"}', new Uint8Array(0)).map((b) => (b === 0xc3 ? 0xff : b))),
      /the header is not valid UTF-8/,
    ],
    [
      'metadata that is not a string map',
      () => file({ __metadata__: { step: 3 } }, 0),
      /__metadata__ "step" must be a string, got 3/,
    ],
  ];

  for (const [what, make, message] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      const path = make();
      let thrown: unknown;
      try {
        readSafetensors(path);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect((thrown as Error).message.startsWith(`${path}: `), (thrown as Error).message).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it('skips a tensor of any dtype when asked, still checking where its bytes are', () => {
    const path = file({ ...tensor('w', 0, 4), ...tensor('h.0.attn.bias', 4, 20, 'I64', [2]) }, 20);
    expect([...readSafetensors(path, { skip: (n) => n === 'h.0.attn.bias' }).tensors.keys()]).toEqual(['w']);
    const gap = file({ ...tensor('w', 0, 4), ...tensor('h.0.attn.bias', 8, 24, 'I64', [2]) }, 24);
    expect(() => readSafetensors(gap, { skip: () => true })).toThrow(/leave bytes 4 to 8 of the data unclaimed/);
  });
});

describe('atomic writes', () => {
  const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.'));
  const one = (value: number): NamedTensors => new Map([['w', { shape: [1], data: new Float32Array([value]) }]]);

  it('replaces an existing file whole', () => {
    const dir = tempDir();
    const path = join(dir, 'w.safetensors');
    writeSafetensors(path, one(1));
    writeSafetensors(path, one(2));
    expect(readSafetensors(path).tensors.get('w')!.data[0]).toBe(2);
    expect(leftovers(dir)).toEqual([]);
  });

  it('removes what a killed write of the same file left behind, and nothing else', () => {
    const dir = tempDir();
    const path = join(dir, 'w.safetensors');
    const stale = ['.w.safetensors.0123456789ab.tmp', '.w.safetensors.ba9876543210.old'];
    const kept = ['.w.safetensors.notours.tmp', '.other.safetensors.0123456789ab.tmp', '.hidden'];
    for (const name of [...stale, ...kept]) writeFileSync(join(dir, name), 'x');
    writeSafetensors(path, one(1));
    expect(leftovers(dir).sort()).toEqual([...kept].sort());
  });

  it('leaves the old file intact when writing fails part way', () => {
    const dir = tempDir();
    const path = join(dir, 'w.safetensors');
    writeSafetensors(path, one(1));
    const before = readFileSync(path);
    const failing = new Float32Array(1 << 16);
    // Validation reads the length; the data itself is reached only while the file is being written.
    Object.defineProperty(failing, 'buffer', {
      get() {
        throw new Error('disk full');
      },
    });
    const tensors: NamedTensors = new Map([
      ['first', { shape: [1 << 16], data: new Float32Array(1 << 16) }],
      ['second', { shape: [1 << 16], data: failing }],
    ]);
    expect(() => writeSafetensors(path, tensors)).toThrow('disk full');
    expect(readFileSync(path)).toEqual(before);
    expect(leftovers(dir)).toEqual([]);
  });

  it('leaves what is in the way intact when the rename fails', () => {
    const dir = tempDir();
    const path = join(dir, 'w.safetensors');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'kept');
    expect(() => writeSafetensors(path, one(1))).toThrow(`could not replace ${path}`);
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readFileSync(join(path, 'keep'), 'utf8')).toBe('kept');
    expect(leftovers(dir)).toEqual([]);
  });

  it('puts back the files of a set already renamed when a later rename fails', () => {
    const dir = tempDir();
    const [a, b, c] = ['a.bin', 'b.bin', 'c.json'].map((f) => join(dir, f)) as [string, string, string];
    writeFileSync(a, 'old a');
    mkdirSync(c); // in the way of the last file of the set; b did not exist before
    const text = (s: string) => (fd: number) => writeFully(fd, new TextEncoder().encode(s));
    expect(() =>
      writeFilesAtomically([
        { path: a, write: text('new a') },
        { path: b, write: text('new b') },
        { path: c, write: text('new c') },
      ]),
    ).toThrow(/could not replace .*c\.json: .*; the files replaced before it were put back/);
    expect(readFileSync(a, 'utf8')).toBe('old a');
    expect(existsSync(b)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('touches no target when a file of the set fails to write', () => {
    const dir = tempDir();
    const [a, b] = ['a.bin', 'b.bin'].map((f) => join(dir, f)) as [string, string];
    writeFileSync(a, 'old a');
    writeFileSync(b, 'old b');
    expect(() =>
      writeFilesAtomically([
        { path: a, write: (fd) => writeFully(fd, new TextEncoder().encode('new a')) },
        {
          path: b,
          write: (fd) => {
            writeFully(fd, new TextEncoder().encode('half of b'));
            throw new Error('killed');
          },
        },
      ]),
    ).toThrow('killed');
    expect(readFileSync(a, 'utf8')).toBe('old a');
    expect(readFileSync(b, 'utf8')).toBe('old b');
    expect(leftovers(dir)).toEqual([]);
  });
});
