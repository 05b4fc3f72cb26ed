/**
 * The safetensors format, read and written with plain typed arrays. A file is
 *
 *   8 bytes   N, the header's length, a little-endian u64
 *   N bytes   a UTF-8 JSON object, padded with spaces:
 *             {"__metadata__": {"format": "pt"},
 *              "ln_f.bias": {"dtype": "F32", "shape": [768], "data_offsets": [0, 3072]}, ...}
 *   the rest  every tensor's little-endian bytes, at data_offsets counted from the header's end
 *
 * As the reference implementation requires, the offsets tile the data exactly: sorted, the first
 * begins at 0, each begins where the one before ends, and the last ends at the end of the file.
 * F32, F16, BF16 and F64 read into Float32Array (F16 and BF16 exactly, F64 rounded to nearest);
 * other dtypes are refused unless the caller skips them by name. F32 and BF16 are written.
 *
 * Reading goes through one file descriptor and reads each tensor's bytes straight into its array:
 * nothing is read twice, skipped tensors are not read at all, and files over Node's 2 GiB
 * readFile limit (GPT-2 large and XL in F32) work.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type { NamedTensors } from './config';
import { writeFilesAtomically, writeFully } from '../core/atomicWrite';

/** Bits per element of every dtype the format defines (sub-byte F4 and F6 included). */
const DTYPE_BITS = new Map<string, number>([
  ['BOOL', 8],
  ['U8', 8],
  ['I8', 8],
  ['F8_E5M2', 8],
  ['F8_E4M3', 8],
  ['F8_E8M0', 8],
  ['F4', 4],
  ['F6_E2M3', 6],
  ['F6_E3M2', 6],
  ['I16', 16],
  ['U16', 16],
  ['F16', 16],
  ['BF16', 16],
  ['I32', 32],
  ['U32', 32],
  ['F32', 32],
  ['I64', 64],
  ['U64', 64],
  ['F64', 64],
  ['C64', 64],
]);
const READABLE = ['F32', 'F16', 'BF16', 'F64'];

/** The reference implementation's limit: a larger header is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

// Typed-array views read and write the host's byte order; the format is little-endian.
if (endianness() !== 'LE')
  throw new Error('safetensors.ts reads and writes little-endian data and needs a little-endian host');

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** data_offsets, counted from the first byte after the header. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In the order of their data in the file (JSON objects cannot keep integer-like names in order). */
  entries: Map<string, SafetensorsEntry>;
  /** Where the data starts in the file: 8 + N. */
  dataStart: number;
}

export interface WriteOptions {
  /** The dtype every tensor is written in: F32 (default, exact) or BF16 (rounded to nearest even). */
  dtype?: 'F32' | 'BF16';
}

export interface ReadOptions {
  /** Names to leave out (mask buffers and the like): not read, and any dtype is accepted. */
  skip?: (name: string) => boolean;
}

function fail(file: string, message: string, tensor?: string): never {
  throw new Error(tensor === undefined ? `${file}: ${message}` : `${file}: tensor "${tensor}": ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads exactly bytes.byteLength bytes at position; the sizes were checked, so a short read means the file changed. */
function readAt(fd: number, bytes: Uint8Array, position: number, file: string, tensor?: string): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = readSync(fd, bytes, done, Math.min(1 << 30, bytes.byteLength - done), position + done);
    if (n === 0)
      fail(
        file,
        `the file ended at byte ${position + done}, before the data the header promises (was it changed while being read?)`,
        tensor,
      );
    done += n;
  }
}

function parseEntry(file: string, name: string, value: unknown, dataLength: number): SafetensorsEntry {
  if (!isPlainObject(value)) fail(file, `expected {dtype, shape, data_offsets}, got ${JSON.stringify(value)}`, name);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') fail(file, `dtype must be a string, got ${JSON.stringify(dtype)}`, name);
  if (!Array.isArray(shape) || !shape.every(isCount))
    fail(file, `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(file, `data_offsets must be [begin, end] in bytes, got ${JSON.stringify(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
  if (end > dataLength) {
    fail(
      file,
      `data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes after the header): the file is truncated`,
      name,
    );
  }
  const bits = DTYPE_BITS.get(dtype);
  if (bits === undefined) fail(file, `unknown dtype "${dtype}"`, name);
  const count = elementCount(shape);
  const byteLength = (count * bits) / 8;
  if (!Number.isSafeInteger(count) || byteLength !== end - begin) {
    fail(
      file,
      `shape [${shape.join(', ')}] of ${dtype} needs ${byteLength} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      name,
    );
  }
  return { dtype, shape, begin, end };
}

function readHeaderFrom(fd: number, file: string): SafetensorsHeader {
  const size = fstatSync(fd).size;
  if (size < 8) fail(file, `${size} bytes is too short for safetensors (it starts with an 8-byte header length)`);
  const prefix = new Uint8Array(8);
  readAt(fd, prefix, 0, file);
  const n = new DataView(prefix.buffer).getBigUint64(0, true);
  if (n > BigInt(size - 8))
    fail(
      file,
      `the header length ${n} runs past the end of the file (${size - 8} bytes follow it): truncated, or not safetensors`,
    );
  if (n > BigInt(MAX_HEADER_BYTES)) fail(file, `the header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = new Uint8Array(Number(n));
  readAt(fd, headerBytes, 8, file);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    fail(file, `the header does not start with "{" (it starts ${JSON.stringify(text.slice(0, 20))})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(file, `the header is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(json)) fail(file, 'the header is not a JSON object');

  const dataStart = 8 + headerBytes.byteLength;
  const dataLength = size - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!isPlainObject(value)) fail(file, '__metadata__ must be an object of strings');
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== 'string') fail(file, `__metadata__ "${key}" must be a string, got ${JSON.stringify(item)}`);
        metadata[key] = item;
      }
      continue;
    }
    entries.set(name, parseEntry(file, name, value, dataLength));
  }

  const byOffset = [...entries].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const [name, entry] of byOffset) {
    if (entry.begin < covered) {
      fail(
        file,
        `data_offsets [${entry.begin}, ${entry.end}] overlap those of tensor "${previous}", which end at ${covered}`,
        name,
      );
    }
    if (entry.begin > covered)
      fail(
        file,
        `data_offsets [${entry.begin}, ${entry.end}] leave bytes ${covered} to ${entry.begin} of the data unclaimed`,
        name,
      );
    covered = entry.end;
    previous = name;
  }
  if (covered !== dataLength)
    fail(file, `${dataLength - covered} bytes after the last tensor's data belong to no tensor`);
  return { metadata, entries: new Map(byOffset), dataStart };
}

/** The header alone: names, dtypes, shapes and metadata, validated, without reading any tensor. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return readHeaderFrom(fd, path);
  } finally {
    closeSync(fd);
  }
}

let f16Table: Uint32Array | undefined;

/** The float32 bit pattern of every float16 bit pattern; built once (256 KiB). */
function f16ToF32Bits(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const view = new DataView(new ArrayBuffer(4));
  for (let h = 0; h < 65536; h++) {
    const negative = (h & 0x8000) !== 0;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      // Infinity, or NaN with its payload kept in the top mantissa bits, as hardware converts it.
      table[h] = ((negative ? 0x80000000 : 0) | 0x7f800000 | (mantissa << 13)) >>> 0;
      continue;
    }
    // Subnormals (exponent 0) are mantissa * 2^-24; normals are (1024 + mantissa) * 2^(exponent - 25).
    // Both are exact in float32, so setFloat32 rounds nothing.
    const magnitude = exponent === 0 ? mantissa * 2 ** -24 : (1024 + mantissa) * 2 ** (exponent - 25);
    view.setFloat32(0, negative ? -magnitude : magnitude);
    table[h] = view.getUint32(0);
  }
  f16Table = table;
  return table;
}

/** IEEE 754 half-precision bit patterns to float32, exactly (subnormals, infinities and NaN too). */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const table = f16ToF32Bits();
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = table[bits[i]!]!;
  return out;
}

/**
 * float32 to bfloat16 bit patterns, rounded to nearest with ties to even (as PyTorch's
 * tensor.to(torch.bfloat16)): add 0x7fff plus the lowest kept bit, keep the top 16 bits. NaN stays
 * a (quiet) NaN of its sign, where rounding would carry it into infinity; infinities stay.
 *   1 + 2^-8 (0x3f808000, a tie) -> 0x3f80 (even);  1 + 3 * 2^-8 (0x3f818000) -> 0x3f82
 */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x0040;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 is the top half of a float32, so widening is a shift and exact. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

function refuseDtype(file: string, name: string, dtype: string): never {
  return fail(
    file,
    `dtype ${dtype} cannot be read as floats (only ${READABLE.join(', ')}); skip it by name if it is not needed`,
    name,
  );
}

function readTensor(fd: number, file: string, name: string, entry: SafetensorsEntry, dataStart: number): Float32Array {
  const count = elementCount(entry.shape);
  const position = dataStart + entry.begin;
  switch (entry.dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      readAt(fd, new Uint8Array(out.buffer), position, file, name);
      return out;
    }
    case 'F16':
    case 'BF16': {
      const raw = new Uint16Array(count);
      readAt(fd, new Uint8Array(raw.buffer), position, file, name);
      return entry.dtype === 'F16' ? f16ToF32(raw) : bf16ToF32(raw);
    }
    case 'F64': {
      const raw = new Float64Array(count);
      readAt(fd, new Uint8Array(raw.buffer), position, file, name);
      return Float32Array.from(raw);
    }
    default:
      return refuseDtype(file, name, entry.dtype);
  }
}

/**
 * Every tensor of a file, as float32, with the file's metadata. Validates the whole header before
 * reading any data, so a bad file fails fast and names itself and the tensor at fault.
 *
 *   readSafetensors('model.safetensors', { skip: (n) => n.endsWith('.attn.bias') })
 *   // -> { tensors: Map { 'wte.weight' => { shape: [50257, 768], data: Float32Array(38597376) }, ... },
 *   //      metadata: { format: 'pt' } }
 */
export function readSafetensors(
  path: string,
  options: ReadOptions = {},
): { tensors: NamedTensors; metadata: Record<string, string> } {
  const fd = openSync(path, 'r');
  try {
    const header = readHeaderFrom(fd, path);
    // Every dtype first, so a file that cannot be read fails before gigabytes of it are.
    for (const [name, entry] of header.entries) {
      if (!options.skip?.(name) && !READABLE.includes(entry.dtype)) refuseDtype(path, name, entry.dtype);
    }
    const tensors: NamedTensors = new Map();
    for (const [name, entry] of header.entries) {
      if (options.skip?.(name)) continue;
      tensors.set(name, { shape: [...entry.shape], data: readTensor(fd, path, name, entry, header.dataStart) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks tensors and metadata and returns the function that writes their safetensors file to an
 * open file descriptor, for writing several files as one set (see atomicWrite.ts). `path` only
 * names the file in errors. Tensors are laid out in the map's order, all in one dtype: F32 (the
 * default) or BF16 (each float32 rounded to nearest, ties to even, by f32ToBf16), so every tensor's
 * data starts aligned to its element (the header is padded to a multiple of 8, as the reference
 * writer does).
 */
export function safetensorsWriter(
  path: string,
  tensors: NamedTensors,
  metadata: Record<string, string> = {},
  options: WriteOptions = {},
): (fd: number) => void {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'BF16') fail(path, `can write F32 or BF16, not ${JSON.stringify(dtype)}`);
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') fail(path, `metadata "${key}" must be a string, got ${typeof value}`);
  }
  if (Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === '__metadata__') fail(path, 'the name is reserved for the metadata', name);
    if (!(data instanceof Float32Array)) fail(path, 'data must be a Float32Array', name);
    if (!shape.every(isCount))
      fail(path, `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
    if (elementCount(shape) !== data.length)
      fail(path, `shape [${shape.join(', ')}] holds ${elementCount(shape)} values but data has ${data.length}`, name);
    // Built by hand, not JSON.stringify of one object: that would move integer-like names first.
    const byteLength = data.length * bytesPer;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${offset + byteLength}]}`,
    );
    offset += byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return (fd) => {
    writeFully(fd, head);
    for (const { data } of tensors.values()) {
      const out = dtype === 'F32' ? data : f32ToBf16(data);
      writeFully(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
  };
}

/** Writes a safetensors file (F32 unless options say BF16) atomically: in full under a temporary name, fsynced, then renamed over `path`. */
export function writeSafetensors(
  path: string,
  tensors: NamedTensors,
  metadata: Record<string, string> = {},
  options: WriteOptions = {},
): void {
  writeFilesAtomically([{ path, write: safetensorsWriter(path, tensors, metadata, options) }]);
}
