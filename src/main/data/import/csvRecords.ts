/**
 * Assembles RFC 4180 CSV records from physical lines: quoted fields, "" escapes, and line breaks
 * inside quotes (kept exactly as written, CRLF or LF). A record may span many lines, so the size
 * limit applies to the record as a whole, and past it the text is dropped while the quotes are
 * still followed to find where the record ends.
 */
import type { SourceLine } from './lineReader';
import { formatBytes } from './issues';

export interface CsvRecord {
  /** The physical line the record starts on. */
  line: number;
  fields: string[];
  /** A syntax or size problem: the fields are not to be trusted. */
  problem: string | null;
  /** Some line of the record was not valid UTF-8 (already reported by the caller). */
  tainted: boolean;
}

type State = 'fieldStart' | 'quoted';

export class CsvRecordAssembler {
  private fields: string[] = [];
  private field = '';
  private state: State = 'fieldStart';
  private inRecord = false;
  private startLine = 0;
  private bytes = 0;
  private tooBig = false;
  private problem: string | null = null;
  private tainted = false;

  constructor(private readonly maxRecordBytes: number) {}

  /** Feeds one line; returns a record when the line completes one. */
  push(source: SourceLine): CsvRecord | null {
    const text = source.text;
    if (!this.inRecord) {
      // Blank lines between records are not records (trailing newlines are common in exports).
      if (text.trim() === '') return null;
      this.inRecord = true;
      this.startLine = source.line;
    }
    if (source.fault?.kind === 'invalid-utf8') this.tainted = true;
    this.bytes += source.bytes + source.eol.length;
    if (!this.tooBig && this.bytes > this.maxRecordBytes) {
      this.tooBig = true;
      this.fields = [];
      this.field = '';
    }
    let i = 0;
    const length = text.length;
    for (;;) {
      if (this.state === 'quoted') {
        const quote = text.indexOf('"', i);
        if (quote === -1) {
          this.append(text.slice(i));
          if (source.eol === '') {
            this.fail(`a quoted field that starts in this record is never closed`);
            return this.complete();
          }
          // The line break belongs to the field.
          this.append(source.eol);
          return null;
        }
        this.append(text.slice(i, quote));
        if (text.charCodeAt(quote + 1) === 0x22) {
          this.append('"');
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        if (i < length && text[i] !== ',') {
          this.fail(
            `unexpected text after the closing quote of field ${this.fields.length + 1} on line ${source.line}`,
          );
          const comma = text.indexOf(',', i);
          this.append(text.slice(i, comma === -1 ? length : comma));
          i = comma === -1 ? length : comma;
        }
        this.state = 'fieldStart';
        this.endField();
        if (i >= length) return this.complete();
        i += 1;
        continue;
      }
      if (i < length && text.charCodeAt(i) === 0x22) {
        this.state = 'quoted';
        i += 1;
        continue;
      }
      // Unquoted: a stray quote inside is taken literally, as most CSV writers and readers do.
      const comma = text.indexOf(',', i);
      this.append(text.slice(i, comma === -1 ? length : comma));
      this.endField();
      if (comma === -1) return this.complete();
      i = comma + 1;
    }
  }

  /** At end of file: a record still open means an unclosed quote. */
  finish(): CsvRecord | null {
    if (!this.inRecord) return null;
    this.fail('a quoted field that starts in this record is never closed');
    return this.complete();
  }

  /** Forgets the record in progress (after a line that could not be read at all). */
  reset(): void {
    this.fields = [];
    this.field = '';
    this.state = 'fieldStart';
    this.inRecord = false;
    this.bytes = 0;
    this.tooBig = false;
    this.problem = null;
    this.tainted = false;
  }

  private append(text: string): void {
    if (!this.tooBig) this.field += text;
  }

  private endField(): void {
    if (!this.tooBig) this.fields.push(this.field);
    this.field = '';
  }

  private fail(message: string): void {
    this.problem ??= message;
  }

  private complete(): CsvRecord {
    if (this.tooBig) {
      this.problem = `the record is ${formatBytes(this.bytes)}, over the limit of ${formatBytes(this.maxRecordBytes)}`;
    }
    const record: CsvRecord = {
      line: this.startLine,
      fields: this.fields,
      problem: this.problem,
      tainted: this.tainted,
    };
    this.reset();
    return record;
  }
}
