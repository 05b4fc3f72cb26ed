import { describe, expect, it } from 'vitest';
import { CsvRecordAssembler, type CsvRecord } from '../../src/main/data/import/csvRecords';
import { LineSplitter } from '../../src/main/data/import/lineReader';

/** Runs text through the same line splitting the importer uses. */
function records(text: string, maxRecordBytes = 1000): CsvRecord[] {
  const splitter = new LineSplitter(1000);
  const assembler = new CsvRecordAssembler(maxRecordBytes);
  const lines = splitter.push(Buffer.from(text));
  const last = splitter.end();
  if (last) lines.push(last);
  const out: CsvRecord[] = [];
  for (const line of lines) {
    const record = assembler.push(line);
    if (record) out.push(record);
  }
  const tail = assembler.finish();
  if (tail) out.push(tail);
  return out;
}

const fields = (text: string): string[][] => records(text).map((r) => r.fields);

describe('CsvRecordAssembler', () => {
  it('splits plain fields, keeping empty ones, including a trailing one', () => {
    expect(fields('a,b,c\n,,\nx,\n')).toEqual([
      ['a', 'b', 'c'],
      ['', '', ''],
      ['x', ''],
    ]);
  });

  it('reads quoted fields with commas, "" escapes and empty quotes', () => {
    expect(fields('"a,b","say ""hi""","",""""\n')).toEqual([['a,b', 'say "hi"', '', '"']]);
  });

  it('keeps line breaks inside quotes exactly, LF or CRLF, and numbers the record by its first line', () => {
    const out = records('h\r\n"one\r\ntwo\nthree"\r\nnext\n');
    expect(out.map((r) => [r.line, r.fields])).toEqual([
      [1, ['h']],
      [2, ['one\r\ntwo\nthree']],
      [5, ['next']],
    ]);
  });

  it('takes a stray quote inside an unquoted field literally', () => {
    expect(fields('5" screen,ok\n')).toEqual([['5" screen', 'ok']]);
  });

  it('skips blank lines between records but not inside quotes', () => {
    expect(fields('a\n\n   \n"x\n\ny"\n\n')).toEqual([['a'], ['x\n\ny']]);
  });

  it('reports an unclosed quote at end of file, with or without a final newline', () => {
    expect(records('a\n"open\nmore\n').map((r) => [r.line, r.problem])).toEqual([
      [1, null],
      [2, 'a quoted field that starts in this record is never closed'],
    ]);
    expect(records('"open').map((r) => [r.line, r.problem])).toEqual([
      [1, 'a quoted field that starts in this record is never closed'],
    ]);
  });

  it('limits a record spanning many lines as a whole, and keeps track of where it ends', () => {
    const long = `"${Array.from({ length: 20 }, () => 'x'.repeat(9)).join('\n')}",b\nnext,row\n`;
    // 180 x, 19 inner and 1 final newline, 2 quotes, ",b": the terminators count.
    const out = records(long, 100);
    expect(out).toHaveLength(2);
    expect(out[0]?.problem).toMatch(/^the record is 204 bytes, over the limit of 100 bytes$/);
    expect(out[0]?.fields).toEqual([]);
    expect(out[1]).toMatchObject({ line: 21, fields: ['next', 'row'], problem: null });
  });
});
