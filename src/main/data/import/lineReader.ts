/**
 * Reads a file as numbered lines, streaming, so an import never holds more than one line (up to
 * a limit) in memory. Gzip is recognised by its magic bytes, because uploads lose their names and
 * people rename files. Each line is decoded as strict UTF-8 on its own, which is safe because the
 * newline byte never occurs inside a multi-byte UTF-8 sequence.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { abortError, throwIfAborted } from './cancellation';

export interface SourceLine {
  /** 1-based physical line number, counted in the decompressed text. */
  line: number;
  /** The line without its terminator; empty when the line has a fault. */
  text: string;
  /** Size of the line in bytes as stored (decompressed), without its terminator. */
  bytes: number;
  /** The terminator as found, so multi-line CSV fields can keep it exactly. */
  eol: '' | '\n' | '\r\n';
  fault: LineFault | null;
}

/** On invalid UTF-8 the text is still decoded (with U+FFFD) so a CSV reader can keep track of quotes. */
export type LineFault = { kind: 'too-long' } | { kind: 'invalid-utf8' };

/** The file could not be read (any more); `line` is the last line reached, 0 for the whole file. */
export class ReadFailure extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'ReadFailure';
  }
}

export interface LineReaderOptions {
  maxLineBytes: number;
  onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface LineSource {
  totalBytes: number;
  gzip: boolean;
  lines: AsyncGenerator<SourceLine, void, undefined>;
  close(): Promise<void>;
}

const CHUNK_BYTES = 256 * 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Opens a file for reading lines; a file that cannot be opened is a ReadFailure at line 0. */
export async function openLineSource(path: string, options: LineReaderOptions): Promise<LineSource> {
  let handle: FileHandle;
  try {
    // Checked before opening: opening a FIFO would block, and a directory opens fine on Linux.
    const info = await stat(path);
    if (info.isDirectory()) throw new ReadFailure('cannot read the file: it is a directory', 0);
    if (!info.isFile()) throw new ReadFailure('cannot read the file: it is not a regular file', 0);
    handle = await open(path, 'r');
  } catch (error) {
    if (error instanceof ReadFailure) throw error;
    throw new ReadFailure(describeOpenError(error), 0);
  }
  let totalBytes: number;
  let gzip: boolean;
  try {
    totalBytes = (await handle.stat()).size;
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (error) {
    await handle.close();
    throw new ReadFailure(describeOpenError(error), 0);
  }
  const raw = handle.createReadStream({ start: 0, highWaterMark: CHUNK_BYTES, autoClose: false });
  if (options.signal) addAbortSignal(options.signal, raw);
  const progress = { raw: 0 };
  let source: Readable;
  if (gzip) {
    // Progress is in bytes on disk; the raw stream's data events run alongside pipe's own reads.
    raw.on('data', (chunk: Buffer | string) => {
      progress.raw += chunk.length;
    });
    source = pipeline(raw, createGunzip(), () => {
      // Errors surface through iteration of the gunzip stream; nothing more to do here.
    });
  } else {
    source = raw;
  }
  const lines = readLines(source, gzip, progress, totalBytes, options);
  return {
    totalBytes,
    gzip,
    lines,
    async close() {
      await lines.return();
      source.destroy();
      raw.destroy();
      await handle.close();
    },
  };
}

async function* readLines(
  source: Readable,
  gzip: boolean,
  progress: { raw: number },
  totalBytes: number,
  options: LineReaderOptions,
): AsyncGenerator<SourceLine, void, undefined> {
  const splitter = new LineSplitter(options.maxLineBytes);
  let reported = -1;
  const report = (): void => {
    if (options.onProgress && progress.raw !== reported) {
      reported = progress.raw;
      options.onProgress(progress.raw, totalBytes);
    }
  };
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      throwIfAborted(options.signal);
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        if (options.signal?.aborted) throw abortError();
        throw splitter.failure(error, gzip);
      }
      if (next.done) break;
      if (!gzip) progress.raw += next.value.length;
      report();
      for (const line of splitter.push(next.value)) yield line;
    }
    report();
    const last = splitter.end();
    if (last) yield last;
  } finally {
    await chunks.return?.();
  }
}

/** Splits bytes into lines, keeping at most maxLineBytes of the current line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflow = false;
  private lastByte = -1;
  private nextLine = 1;
  private readonly strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lenient = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private readonly maxBytes: number) {}

  /** Bytes held for the line in progress: bounded by maxBytes however long the line is. */
  get heldBytes(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  push(chunk: Buffer): SourceLine[] {
    const lines: SourceLine[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        // The tail is kept across reads, so it is copied rather than pinned to a stream's buffer.
        this.take(chunk, start, chunk.length, true);
        return lines;
      }
      this.take(chunk, start, newline, false);
      lines.push(this.finish(true));
      start = newline + 1;
    }
  }

  /** The last line, when the file does not end with a newline. */
  end(): SourceLine | null {
    return this.size > 0 ? this.finish(false) : null;
  }

  /** A read error, turned into an issue that names the last line reached. */
  failure(error: unknown, gzip: boolean): ReadFailure {
    const midLine = this.size > 0;
    const line = midLine ? this.nextLine : this.nextLine - 1;
    const where = midLine
      ? `it ends inside line ${line}`
      : line > 0
        ? `it ends after line ${line}`
        : 'before the first line';
    const detail = errorText(error);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (gzip && code === 'Z_BUF_ERROR') {
      return new ReadFailure(`the compressed (gzip) file is truncated: ${where} (${detail})`, line);
    }
    if (gzip && typeof code === 'string' && code.startsWith('Z_')) {
      return new ReadFailure(`the compressed (gzip) data is corrupt: ${where} (${detail})`, line);
    }
    return new ReadFailure(`reading the file failed: ${where} (${detail})`, line);
  }

  private take(chunk: Buffer, start: number, end: number, copy: boolean): void {
    if (end <= start) return;
    this.lastByte = chunk[end - 1] ?? -1;
    this.size += end - start;
    if (this.overflow) return;
    // One byte of slack for a carriage return that is not part of the line.
    if (this.size > this.maxBytes + 1) {
      this.overflow = true;
      this.parts = [];
      return;
    }
    const piece = chunk.subarray(start, end);
    this.parts.push(copy ? Buffer.from(piece) : piece);
  }

  private finish(terminated: boolean): SourceLine {
    const line = this.nextLine++;
    const crlf = this.lastByte === CARRIAGE_RETURN;
    const bytes = crlf ? this.size - 1 : this.size;
    const eol: SourceLine['eol'] = terminated ? (crlf ? '\r\n' : '\n') : '';
    const tooLong = this.overflow || bytes > this.maxBytes;
    const parts = this.parts;
    const size = this.size;
    this.parts = [];
    this.size = 0;
    this.overflow = false;
    this.lastByte = -1;
    if (tooLong) return { line, text: '', bytes, eol, fault: { kind: 'too-long' } };
    let buffer = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, size);
    if (crlf) buffer = buffer.subarray(0, bytes);
    if (line === 1 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) buffer = buffer.subarray(3);
    try {
      return { line, text: this.strict.decode(buffer), bytes, eol, fault: null };
    } catch {
      return { line, text: this.lenient.decode(buffer), bytes, eol, fault: { kind: 'invalid-utf8' } };
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeOpenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'cannot read the file: it does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the file: permission denied';
    case 'EISDIR':
      return 'cannot read the file: it is a directory';
    default:
      return `cannot read the file: ${errorText(error)}`;
  }
}
