/**
 * Parses an offline-data file for import, streaming, into examples and preference pairs.
 *
 * Bad input never throws: every problem becomes an issue naming the file, line and field, and the
 * caller stores nothing when there is any. Only cancellation throws (an Error named AbortError).
 * The container (JSON Lines or CSV) and the record format are separate questions: a CSV file can
 * hold any string-only format, and JSON Lines any format.
 */
import { basename } from 'node:path';
import type { ConcreteFormat, FieldMapping, ImportFormat, ImportIssue } from '../../../shared/contract';
import { throwIfAborted } from './cancellation';
import { CsvRecordAssembler, type CsvRecord } from './csvRecords';
import { detectJsonFormat, isCsvName } from './detectFormat';
import { IssueLog, describeValue, formatBytes, quoteList } from './issues';
import { ReadFailure, openLineSource, type LineSource, type SourceLine } from './lineReader';
import { convertRecord, formatFields, requiredColumns, type ParsedExample, type ParsedPair } from './recordFormats';
import { isPlainObject, resolveFieldNames, type FieldNames, type SourceRecord } from './sourceRecord';

export type { ParsedExample, ParsedPair } from './recordFormats';

export interface ParseOptions {
  format: ImportFormat;
  fields: FieldMapping;
  displayName?: string;
  maxLineBytes?: number;
  maxIssues?: number;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface ParseResult {
  format: ConcreteFormat;
  /** Records read, valid or not: JSON lines that are not blank, CSV rows after the header. */
  rows: number;
  examples: ParsedExample[];
  pairs: ParsedPair[];
  issues: ImportIssue[];
}

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_ISSUES = 50;

/** State of one parse, shared by the JSON Lines and CSV readers. */
interface Run {
  names: FieldNames;
  log: IssueLog;
  maxLineBytes: number;
  signal: AbortSignal | undefined;
  /** Null until detected, for --format auto (from the first record, or from a CSV header). */
  format: ConcreteFormat | null;
  rows: number;
  examples: ParsedExample[];
  pairs: ParsedPair[];
  /** Set when the rest of the file cannot be checked meaningfully. */
  halted: boolean;
}

export async function parseImportFile(path: string, options: ParseOptions): Promise<ParseResult> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxIssues = options.maxIssues ?? DEFAULT_MAX_ISSUES;
  // Options come from code, not from the file: a wrong one is a bug, so it throws.
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1)
    throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  if (!Number.isSafeInteger(maxIssues) || maxIssues < 1)
    throw new RangeError(`maxIssues must be a positive integer, got ${maxIssues}`);
  throwIfAborted(options.signal);

  const file = options.displayName ?? basename(path);
  const csvContainer = options.format === 'csv' || (options.format !== 'jsonl' && (isCsvName(file) || isCsvName(path)));
  const run: Run = {
    names: resolveFieldNames(options.fields),
    log: new IssueLog(file, maxIssues),
    maxLineBytes,
    signal: options.signal,
    format: options.format === 'auto' ? null : options.format,
    rows: 0,
    examples: [],
    pairs: [],
    halted: false,
  };
  const result = (): ParseResult => ({
    format: run.format ?? (csvContainer ? 'csv' : 'jsonl'),
    rows: run.rows,
    examples: run.examples,
    pairs: run.pairs,
    issues: run.log.issues,
  });

  if (run.format !== null && !mappingIsUsable(run, run.format)) return result();

  let source: LineSource;
  try {
    source = await openLineSource(path, { maxLineBytes, onProgress: options.onProgress, signal: options.signal });
  } catch (error) {
    if (!(error instanceof ReadFailure)) throw error;
    run.log.add(error.line, undefined, error.message);
    return result();
  }
  let headerSeen = false;
  try {
    if (csvContainer) headerSeen = await readCsv(source.lines, run);
    else await readJsonLines(source.lines, run);
  } catch (error) {
    if (!(error instanceof ReadFailure)) throw error;
    run.log.add(error.line, undefined, error.message);
  } finally {
    await source.close();
  }
  throwIfAborted(options.signal);
  if (run.rows === 0 && run.log.count === 0) {
    run.log.add(
      0,
      undefined,
      headerSeen
        ? 'no records: the file has a header row but no data rows'
        : 'no records: the file is empty or has only blank lines',
    );
  }
  return result();
}

/** Two logical fields read from one column would silently duplicate data. */
function mappingIsUsable(run: Run, format: ConcreteFormat): boolean {
  const seen = new Map<string, string>();
  for (const field of formatFields[format]) {
    const name = run.names[field];
    const other = seen.get(name);
    if (other !== undefined) {
      run.log.add(
        0,
        undefined,
        `the field mapping reads both "${other}" and "${field}" from the field "${name}"; each needs its own field`,
      );
      run.halted = true;
      return false;
    }
    seen.set(name, field);
  }
  return true;
}

function lineFaultMessage(line: SourceLine, maxLineBytes: number): string {
  return line.fault?.kind === 'too-long'
    ? `the line is ${formatBytes(line.bytes)}, over the limit of ${formatBytes(maxLineBytes)} per line`
    : 'not valid UTF-8 (save the file as UTF-8)';
}

function accept(run: Run, record: SourceRecord): void {
  if (run.format === null) return;
  const converted = convertRecord(run.format, record, run.names);
  if (converted.kind === 'example') run.examples.push(converted.example);
  else if (converted.kind === 'pair') run.pairs.push(converted.pair);
  else run.log.addProblems(record.line, converted.problems);
}

async function readJsonLines(lines: AsyncIterable<SourceLine>, run: Run): Promise<void> {
  let first = true;
  for await (const line of lines) {
    if (run.log.full || run.halted) break;
    throwIfAborted(run.signal);
    if (line.fault) {
      run.rows++;
      first = false;
      run.log.add(line.line, undefined, lineFaultMessage(line, run.maxLineBytes));
      continue;
    }
    if (line.text.trim() === '') continue;
    run.rows++;
    const wasFirst = first;
    first = false;
    const values = parseJsonObject(line, wasFirst, run);
    if (values === null) continue;
    if (run.format === null) {
      const detection = detectJsonFormat(values, run.names);
      if ('problem' in detection) {
        run.log.add(line.line, undefined, detection.problem);
        run.halted = true;
        break;
      }
      run.format = detection.format;
      if (!mappingIsUsable(run, run.format)) break;
    }
    accept(run, { line: line.line, values, fromCsv: false });
  }
}

function parseJsonObject(line: SourceLine, first: boolean, run: Run): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(line.text) as unknown;
  } catch (error) {
    const opening = line.text.trim();
    if (first && (opening === '[' || opening === '{')) {
      // A pretty-printed JSON document: every later line would fail too, so say it once.
      run.log.add(
        line.line,
        undefined,
        `the file looks like one JSON document spread over many lines (it starts with "${opening}"); ` +
          'the importer reads JSON Lines: one JSON object per line',
      );
      run.halted = true;
      return null;
    }
    run.log.add(line.line, undefined, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
  if (isPlainObject(value)) return value;
  if (Array.isArray(value)) {
    run.log.add(
      line.line,
      undefined,
      'expected a JSON object, got an array; the importer reads JSON Lines: one JSON object per line, not a JSON array',
    );
  } else {
    run.log.add(line.line, undefined, `expected a JSON object, got ${describeValue(value)}`);
  }
  return null;
}

/** Returns whether a header row was seen, for the "no records" message. */
async function readCsv(lines: AsyncIterable<SourceLine>, run: Run): Promise<boolean> {
  const assembler = new CsvRecordAssembler(run.maxLineBytes);
  let header: string[] | null = null;
  const handle = (record: CsvRecord): void => {
    if (header === null) {
      header = readHeader(record, run);
      if (header === null) run.halted = true;
      return;
    }
    run.rows++;
    if (record.problem !== null) {
      run.log.add(record.line, undefined, record.problem);
      return;
    }
    // Its line was reported as not UTF-8; its fields would only repeat that.
    if (record.tainted) return;
    if (record.fields.length !== header.length) {
      run.log.add(
        record.line,
        undefined,
        `expected ${header.length} fields, as in the header, got ${record.fields.length}`,
      );
      return;
    }
    const columns = header;
    const values = Object.fromEntries(columns.map((name, i) => [name, record.fields[i] ?? '']));
    accept(run, { line: record.line, values, fromCsv: true });
  };
  for await (const line of lines) {
    if (run.log.full || run.halted) break;
    throwIfAborted(run.signal);
    if (line.fault) run.log.add(line.line, undefined, lineFaultMessage(line, run.maxLineBytes));
    if (line.fault?.kind === 'too-long') {
      // Its quotes are unknown, so the record it belongs to is dropped.
      assembler.reset();
      if (header === null) run.halted = true;
      else run.rows++;
      continue;
    }
    const record = assembler.push(line);
    if (record) handle(record);
  }
  if (!run.log.full && !run.halted) {
    const last = assembler.finish();
    if (last) handle(last);
  }
  return header !== null;
}

function readHeader(record: CsvRecord, run: Run): string[] | null {
  if (record.problem !== null) {
    run.log.add(record.line, undefined, `the header row is unreadable: ${record.problem}`);
    return null;
  }
  if (record.tainted) return null;
  const header = record.fields;
  let ok = true;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) {
      run.log.add(record.line, undefined, `the column "${name}" appears more than once in the header`);
      ok = false;
    }
    seen.add(name);
  }
  if (!ok) return null;
  if (run.format === null) {
    // The header names the columns as JSON keys would: detect from them, every value a string.
    const detection = detectJsonFormat(Object.fromEntries(header.map((name) => [name, ''])), run.names);
    if ('problem' in detection) {
      run.log.add(record.line, undefined, detection.problem.replace('the first record has', 'the header has'));
      return null;
    }
    run.format = detection.format === 'jsonl' ? 'csv' : detection.format;
    if (!mappingIsUsable(run, run.format)) return null;
  }
  for (const field of requiredColumns(run.format)) {
    const name = run.names[field];
    if (!seen.has(name)) {
      run.log.add(
        record.line,
        name,
        `the header has no "${name}" column (the columns are ${quoteList(header)}); the header row is required`,
      );
      ok = false;
    }
  }
  return ok ? header : null;
}
