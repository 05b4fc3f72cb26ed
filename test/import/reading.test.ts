import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { LineSplitter } from '../../src/main/data/import/lineReader';
import { parseImportFile } from '../../src/main/data/import/parseFile';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/import/${name}`, import.meta.url));

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alol-import-reading-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('LineSplitter', () => {
  const texts = (lines: ReturnType<LineSplitter['push']>): string[] => lines.map((l) => l.text);

  it('joins a line split across chunks, including a CRLF and a multi-byte character cut in two', () => {
    const splitter = new LineSplitter(1000);
    const bytes = Buffer.from('héllo\r\nwörld\n');
    const out = [];
    // One byte at a time cuts every sequence, "é" and "\r\n" included.
    for (let i = 0; i < bytes.length; i++) out.push(...splitter.push(bytes.subarray(i, i + 1)));
    expect(out.map((l) => [l.line, l.text, l.eol, l.fault])).toEqual([
      [1, 'héllo', '\r\n', null],
      [2, 'wörld', '\n', null],
    ]);
    expect(splitter.end()).toBeNull();
  });

  it('strips a byte order mark on the first line only', () => {
    const splitter = new LineSplitter(1000);
    const bom = '\uFEFF';
    expect(texts(splitter.push(Buffer.from(`${bom}a\n${bom}b\n`)))).toEqual(['a', `${bom}b`]);
  });

  it('returns a last line without a newline at the end', () => {
    const splitter = new LineSplitter(1000);
    expect(texts(splitter.push(Buffer.from('a\nb')))).toEqual(['a']);
    expect(splitter.end()).toMatchObject({ line: 2, text: 'b', eol: '' });
  });

  it('never holds more than the limit of an over-long line, however long it grows', () => {
    const limit = 4 * 1024 * 1024;
    const splitter = new LineSplitter(limit);
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let maxHeld = 0;
    for (let i = 0; i < 160; i++) {
      expect(splitter.push(chunk)).toEqual([]);
      maxHeld = Math.max(maxHeld, splitter.heldBytes);
    }
    expect(maxHeld).toBeLessThanOrEqual(limit + 1);
    const [line] = splitter.push(Buffer.from('\nnext\n'));
    expect(line).toEqual({ line: 1, text: '', bytes: 160 * 64 * 1024, eol: '\n', fault: { kind: 'too-long' } });
  });

  it('accepts a line of exactly the limit, with or without CR', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from('abcd\r\nabcd\nabcde\n')).map((l) => [l.text, l.fault?.kind ?? null])).toEqual([
      ['abcd', null],
      ['abcd', null],
      ['', 'too-long'],
    ]);
  });
});

describe('reading files', () => {
  const records = [
    { prompt: 'p1', response: 'r1' },
    { prompt: 'p2 ünïcödé', response: 'r2' },
  ];
  const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';

  it('reads gzip by its magic bytes, whatever the name', async () => {
    const plain = await parseImportFile(await write('plain.jsonl', text), { format: 'auto', fields: {} });
    const gz = await parseImportFile(await write('named.jsonl.gz', gzipSync(text)), { format: 'auto', fields: {} });
    const disguised = await parseImportFile(await write('disguised.jsonl', gzipSync(text)), {
      format: 'auto',
      fields: {},
    });
    expect(plain.issues).toEqual([]);
    expect(plain.examples).toHaveLength(2);
    expect(gz).toEqual(plain);
    expect(disguised).toEqual(plain);
  });

  it('reads a gzip CSV by name (.csv.gz)', async () => {
    const csv = await readFile(fixture('rewarded.csv'));
    const plain = await parseImportFile(fixture('rewarded.csv'), { format: 'auto', fields: {} });
    const gz = await parseImportFile(await write('rewarded.csv.gz', gzipSync(csv)), { format: 'auto', fields: {} });
    expect(gz.issues).toEqual([]);
    expect(gz.format).toBe('csv');
    expect(gz.examples).toEqual(plain.examples);
  });

  it('tolerates a UTF-8 BOM and CRLF in JSON Lines and CSV', async () => {
    const jsonl = await parseImportFile(await write('bom.jsonl', `\uFEFF${text.replaceAll('\n', '\r\n')}`), {
      format: 'auto',
      fields: {},
    });
    expect(jsonl.issues).toEqual([]);
    expect(jsonl.format).toBe('jsonl');
    expect(jsonl.examples.map((e) => [e.prompt, e.response])).toEqual([
      ['p1', 'r1'],
      ['p2 ünïcödé', 'r2'],
    ]);
    const csv = await parseImportFile(await write('bom.csv', '\uFEFFprompt,response\r\nq,a\r\n'), {
      format: 'auto',
      fields: {},
    });
    expect(csv.issues).toEqual([]);
    // Without BOM handling the first column would be named "\uFEFFprompt".
    expect(csv.examples).toMatchObject([{ prompt: 'q', response: 'a', metadata: null }]);
  });

  it('uses the display name in issues', async () => {
    const result = await parseImportFile(await write('f0e1.bin', 'nonsense\n'), {
      format: 'jsonl',
      fields: {},
      displayName: 'my data.jsonl',
    });
    expect(result.issues[0]?.file).toBe('my data.jsonl');
  });
});

describe('progress and cancellation', () => {
  const bigText =
    Array.from({ length: 20000 }, (_, i) => JSON.stringify({ prompt: `prompt ${i}`, response: 'r'.repeat(40) })).join(
      '\n',
    ) + '\n';

  it('reports progress in bytes on disk, ending at the file size', async () => {
    const path = await write('progress.jsonl', bigText);
    const size = (await stat(path)).size;
    const calls: Array<[number, number]> = [];
    const result = await parseImportFile(path, {
      format: 'auto',
      fields: {},
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(result.issues).toEqual([]);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every(([, total]) => total === size)).toBe(true);
    expect(calls.map(([done]) => done)).toEqual([...calls.map(([done]) => done)].sort((a, b) => a - b));
    expect(calls.at(-1)).toEqual([size, size]);
  });

  it('reports compressed bytes for gzip', async () => {
    const path = await write('progress.jsonl.gz', gzipSync(bigText));
    const size = (await stat(path)).size;
    expect(size).toBeLessThan(Buffer.byteLength(bigText));
    const calls: Array<[number, number]> = [];
    await parseImportFile(path, { format: 'auto', fields: {}, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([size, size]);
  });

  it('reports progress on an empty file too', async () => {
    const calls: Array<[number, number]> = [];
    await parseImportFile(await write('empty.jsonl', ''), {
      format: 'auto',
      fields: {},
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls).toEqual([[0, 0]]);
  });

  it('a signal aborted before the start throws an AbortError', async () => {
    const path = await write('abort1.jsonl', bigText);
    const controller = new AbortController();
    controller.abort();
    await expect(
      parseImportFile(path, { format: 'auto', fields: {}, signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborting while reading throws an AbortError and stops reading', async () => {
    for (const [name, content] of [
      ['abort2.jsonl', bigText],
      ['abort2.jsonl.gz', gzipSync(bigText)],
    ] as const) {
      const path = await write(name, content);
      const controller = new AbortController();
      let calls = 0;
      const parsing = parseImportFile(path, {
        format: 'auto',
        fields: {},
        signal: controller.signal,
        onProgress: () => {
          calls++;
          controller.abort();
        },
      });
      await expect(parsing).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }) as Error);
      expect(calls, name).toBe(1);
    }
  });
});
