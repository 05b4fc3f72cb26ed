/**
 * A small, safe markdown reader for the responses an annotator compares: text in, a token list
 * out, which Markdown.svelte turns into DOM through ordinary markup (so every character is text;
 * nothing is ever parsed as HTML). What it knows: paragraphs, line breaks (a single newline is a
 * break: model text is not written for markdown's line joining), **bold**, *italic* / _italic_,
 * `code`, fenced code blocks (an unclosed fence runs to the end: a truncated response stays
 * readable), "-", "*", "+" and "1." lists, and "#" headings. Links and HTML stay as written.
 *
 * "Use **care**:\n- one\n- two" ->
 *   [{ kind: 'paragraph', content: [text "Use ", strong [text "care"], text ":"] },
 *    { kind: 'list', ordered: false, start: 1, items: [[text "one"], [text "two"]] }]
 */

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'break' }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; children: Inline[] }
  | { kind: 'em'; children: Inline[] };

export type Block =
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'list'; ordered: boolean; start: number; items: Inline[][] };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const BULLET = /^ {0,3}([-*+])[ \t]+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})([.)])[ \t]+(.*)$/;
/** A line that only holds a list marker ("-", "2.") starts an empty item. */
const BARE_MARKER = /^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]*$/;
/** Deeper than this, emphasis inside emphasis is left as text: bounds the work on hostile input. */
const MAX_DEPTH = 6;
const ESCAPABLE = /[\\`*_{}[\]()#+\-.!>~|]/;

interface ListMarker {
  ordered: boolean;
  /** "-", "*", "+" for bullets; "." or ")" for ordered lists: a list goes on while its marker does. */
  marker: string;
  number: number;
  rest: string;
}

function listMarker(line: string): ListMarker | null {
  const bullet = BULLET.exec(line);
  // "---" and "***" alone are rules, not items; "* * *" too.
  if (bullet && !/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) return { ordered: false, marker: bullet[1] ?? '-', number: 1, rest: bullet[2] ?? '' };
  const ordered = ORDERED.exec(line);
  if (ordered) return { ordered: true, marker: ordered[2] ?? '.', number: Number(ordered[1]), rest: ordered[3] ?? '' };
  if (BARE_MARKER.test(line)) {
    const m = line.trim();
    return /^\d/.test(m) ? { ordered: true, marker: m.slice(-1), number: Number(m.slice(0, -1)), rest: '' } : { ordered: false, marker: m, number: 1, rest: '' };
  }
  return null;
}

const blank = (line: string): boolean => line.trim() === '';

/** Whether a line begins a block of its own, ending the paragraph before it. */
function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || listMarker(line) !== null;
}

export interface MarkdownOptions {
  /**
   * A single newline is a line break (the default: responses are written line by line); false
   * joins lines as markdown does, for hard-wrapped text such as guidelines.
   */
  breaks?: boolean;
}

export function parseMarkdown(source: string, options: MarkdownOptions = {}): Block[] {
  const join = options.breaks === false ? ' ' : '\n';
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (blank(line)) {
      i++;
      continue;
    }

    const fence = FENCE.exec(line);
    if (fence) {
      const run = fence[1] as string;
      const closing = new RegExp(`^ {0,3}${run[0] === '`' ? '`' : '~'}{${run.length},}\\s*$`);
      const body: string[] = [];
      i++;
      while (i < lines.length && !closing.test(lines[i] as string)) body.push(lines[i++] as string);
      i++; // the closing fence, or past the end
      blocks.push({ kind: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: (heading[1] as string).length, content: parseInline(heading[2] ?? '') });
      i++;
      continue;
    }

    const first = listMarker(line);
    if (first) {
      const items: string[][] = [];
      while (i < lines.length) {
        const current = lines[i] as string;
        const marker = listMarker(current);
        if (marker && marker.ordered === first.ordered && marker.marker === first.marker) {
          items.push([marker.rest]);
          i++;
        } else if (blank(current)) {
          // A blank line ends the list unless the next line goes on with it (a loose list).
          let next = i + 1;
          while (next < lines.length && blank(lines[next] as string)) next++;
          const after = next < lines.length ? listMarker(lines[next] as string) : null;
          const indented = next < lines.length && /^[ \t]{2,}\S/.test(lines[next] as string);
          if (!(after && after.ordered === first.ordered && after.marker === first.marker) && !indented) break;
          if (indented) items[items.length - 1]?.push('');
          i = next;
        } else if (!marker && !FENCE.test(current) && !HEADING.test(current)) {
          // A continuation line (indented or lazy) belongs to the item above it.
          items[items.length - 1]?.push(current.trim());
          i++;
        } else {
          break;
        }
      }
      blocks.push({
        kind: 'list',
        ordered: first.ordered,
        start: first.number,
        items: items.map((parts) => parseInline(parts.filter((p) => p !== '').join(join))),
      });
      continue;
    }

    const paragraph: string[] = [line];
    i++;
    while (i < lines.length && !blank(lines[i] as string) && !startsBlock(lines[i] as string)) paragraph.push(lines[i++] as string);
    blocks.push({ kind: 'paragraph', content: parseInline(paragraph.map((l) => l.trim()).join(join)) });
  }
  return blocks;
}

const isSpace = (ch: string | undefined): boolean => ch === undefined || /\s/.test(ch);
const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/** Inline markup of one block's text: code spans first, then strong and emphasis, line breaks as breaks. */
export function parseInline(source: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') out.push({ kind: 'text', text });
    text = '';
  };
  // Delimiters found to have no closer from some point on have none further on either:
  // remembering that keeps unmatched "*" runs from making the scan quadratic.
  const exhausted = new Set<string>();

  /** Where the delimiter opened at `from` closes, or -1. */
  const closer = (delimiter: string, from: number): number => {
    if (exhausted.has(delimiter)) return -1;
    const ch = delimiter[0] as string;
    let j = source.indexOf(delimiter, from);
    while (j !== -1) {
      // For "*", a single closer must not be half of a "**" (that one closes strong text).
      const runStart = j;
      let runEnd = j;
      while (source[runEnd] === ch) runEnd++;
      const runLength = runEnd - runStart;
      const fits = delimiter.length === 1 ? runLength === 1 || runLength === 3 : runLength >= 2;
      // The closer sits against text on its left; "_" also needs no word right after it.
      if (fits && !isSpace(source[j - 1]) && (ch !== '_' || !isWordChar(source[runEnd]))) {
        // "***x***": strong closes at the end of the run, leaving "*x*" inside.
        return delimiter.length === 2 ? runEnd - 2 : runStart;
      }
      j = source.indexOf(delimiter, runEnd);
    }
    exhausted.add(delimiter);
    return -1;
  };

  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;

    if (ch === '\\' && i + 1 < source.length && ESCAPABLE.test(source[i + 1] as string)) {
      text += source[i + 1];
      i += 2;
      continue;
    }

    if (ch === '\n') {
      flush();
      out.push({ kind: 'break' });
      i++;
      continue;
    }

    if (ch === '`') {
      let run = i;
      while (source[run] === '`') run++;
      const ticks = source.slice(i, run);
      let end = source.indexOf(ticks, run);
      // The closing run must be exactly as long as the opening one.
      while (end !== -1 && (source[end + ticks.length] === '`' || source[end - 1] === '`')) {
        let skip = end;
        while (source[skip] === '`') skip++;
        end = source.indexOf(ticks, skip);
      }
      if (end === -1) {
        text += ticks;
        i = run;
        continue;
      }
      flush();
      let code = source.slice(run, end).replace(/\n/g, ' ');
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
      out.push({ kind: 'code', text: code });
      i = end + ticks.length;
      continue;
    }

    if ((ch === '*' || ch === '_') && depth < MAX_DEPTH) {
      let run = i;
      while (source[run] === ch) run++;
      const runLength = run - i;
      // An opener sits against text on its right; "_" also needs no word right before it (snake_case).
      const opens = !isSpace(source[run]) && (ch !== '_' || !isWordChar(source[i - 1]));
      const sizes = !opens ? [] : runLength >= 2 ? [2, 1] : [1];
      let matched = false;
      for (const size of sizes) {
        const start = i + size;
        // Searched from past the opening run and at least one character in: no empty emphasis.
        const end = closer(ch.repeat(size), Math.max(start + 1, run));
        if (end === -1) continue;
        flush();
        const children = parseInline(source.slice(start, end), depth + 1);
        out.push(size === 2 ? { kind: 'strong', children } : { kind: 'em', children });
        i = end + size;
        matched = true;
        break;
      }
      if (!matched) {
        text += source.slice(i, run);
        i = run;
      }
      continue;
    }

    text += ch;
    i++;
  }
  flush();
  return out;
}

/** The plain text of inline tokens, as a screen reader or a search would see it. */
export function inlineText(tokens: readonly Inline[]): string {
  return tokens
    .map((t) => (t.kind === 'text' || t.kind === 'code' ? t.text : t.kind === 'break' ? '\n' : inlineText(t.children)))
    .join('');
}
