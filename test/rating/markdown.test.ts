/**
 * The rating screen's text readers: the small markdown parser both responses go through (its
 * tokens become DOM through markup, never HTML), and the HH transcript split into turns.
 */
import { describe, expect, it } from 'vitest';
import { inlineText, parseInline, parseMarkdown, type Block, type Inline } from '../../src/renderer/src/lib/markdown';
import { transcriptTurns } from '../../src/renderer/src/features/rate/transcript';

const text = (t: string): Inline => ({ kind: 'text', text: t });
const para = (...content: Inline[]): Block => ({ kind: 'paragraph', content });

describe('parseMarkdown: blocks', () => {
  it('splits paragraphs on blank lines and keeps single newlines as line breaks', () => {
    expect(parseMarkdown('one\ntwo\n\n\nthree')).toEqual([para(text('one'), { kind: 'break' }, text('two')), para(text('three'))]);
    expect(parseMarkdown('a\r\nb')).toEqual([para(text('a'), { kind: 'break' }, text('b'))]);
  });

  it('joins lines with a space when breaks are off (hard-wrapped guidelines)', () => {
    expect(parseMarkdown('one\ntwo\n- a\n  b', { breaks: false })).toEqual([
      para(text('one two')),
      { kind: 'list', ordered: false, start: 1, items: [[text('a b')]] },
    ]);
  });

  it('reads nothing from empty or blank text', () => {
    expect(parseMarkdown('')).toEqual([]);
    expect(parseMarkdown('  \n\n \t')).toEqual([]);
  });

  it('reads fenced code verbatim, with its language, and an unclosed fence to the end', () => {
    expect(parseMarkdown('Run:\n```sh\nls *.txt\n**not bold**\n```\nDone.')).toEqual([
      para(text('Run:')),
      { kind: 'code', lang: 'sh', text: 'ls *.txt\n**not bold**' },
      para(text('Done.')),
    ]);
    expect(parseMarkdown('~~~\ncut off')).toEqual([{ kind: 'code', lang: '', text: 'cut off' }]);
    // A shorter fence does not close a longer one.
    expect(parseMarkdown('````\n```\nx\n````')).toEqual([{ kind: 'code', lang: '', text: '```\nx' }]);
  });

  it('reads bullet and numbered lists, with their start, continuation lines and loose items', () => {
    expect(parseMarkdown('Steps:\n1. mix\n2. **bake**\n   slowly\n\n3. eat')).toEqual([
      para(text('Steps:')),
      {
        kind: 'list',
        ordered: true,
        start: 1,
        items: [[text('mix')], [{ kind: 'strong', children: [text('bake')] }, { kind: 'break' }, text('slowly')], [text('eat')]],
      },
    ]);
    expect(parseMarkdown('- a\n* b')).toEqual([
      { kind: 'list', ordered: false, start: 1, items: [[text('a')]] },
      { kind: 'list', ordered: false, start: 1, items: [[text('b')]] },
    ]);
    expect(parseMarkdown('4) four\n5) five')).toMatchObject([{ kind: 'list', ordered: true, start: 4 }]);
    expect(parseMarkdown('- a\n\nafter')).toEqual([{ kind: 'list', ordered: false, start: 1, items: [[text('a')]] }, para(text('after'))]);
  });

  it('does not take a rule, a sum or a year for a list', () => {
    expect(parseMarkdown('---')).toEqual([para(text('---'))]);
    expect(parseMarkdown('2 * 3 * 4')).toEqual([para(text('2 * 3 * 4'))]);
    expect(parseMarkdown('*emphasis* first')).toEqual([para({ kind: 'em', children: [text('emphasis')] }, text(' first'))]);
  });

  it('reads headings', () => {
    expect(parseMarkdown('## Plan ##\ntext')).toEqual([{ kind: 'heading', level: 2, content: [text('Plan')] }, para(text('text'))]);
    expect(parseMarkdown('#hashtag')).toEqual([para(text('#hashtag'))]);
  });
});

describe('parseInline', () => {
  it('reads bold, italic, both, and code spans', () => {
    expect(parseInline('a **b** c')).toEqual([text('a '), { kind: 'strong', children: [text('b')] }, text(' c')]);
    expect(parseInline('*i* and _j_')).toEqual([{ kind: 'em', children: [text('i')] }, text(' and '), { kind: 'em', children: [text('j')] }]);
    expect(parseInline('***x***')).toEqual([{ kind: 'strong', children: [{ kind: 'em', children: [text('x')] }] }]);
    expect(parseInline('*a **b** c*')).toEqual([{ kind: 'em', children: [text('a '), { kind: 'strong', children: [text('b')] }, text(' c')] }]);
    expect(parseInline('use `x*y*z` here')).toEqual([text('use '), { kind: 'code', text: 'x*y*z' }, text(' here')]);
    expect(parseInline('``a ` b``')).toEqual([{ kind: 'code', text: 'a ` b' }]);
  });

  it('leaves unmatched and spaced delimiters, snake_case and escapes as text', () => {
    expect(parseInline('a * b * c')).toEqual([text('a * b * c')]);
    expect(parseInline('**open')).toEqual([text('**open')]);
    expect(parseInline('snake_case_name')).toEqual([text('snake_case_name')]);
    expect(parseInline('\\*not\\*')).toEqual([text('*not*')]);
    expect(parseInline('`open')).toEqual([text('`open')]);
    expect(parseInline('****')).toEqual([text('****')]);
  });

  it('keeps markup as text: nothing becomes HTML', () => {
    const hostile = '<img src=x onerror=alert(1)> <script>alert(1)</script> [link](javascript:alert(1))';
    expect(parseMarkdown(hostile)).toEqual([para(text(hostile))]);
  });

  it('keeps every character of arbitrary model output', () => {
    const samples = ['**a *b** c*', '_a *b_ c*', '* * *x', '`a``b`', '**\n**', 'x**y**z', '\\', 'a\\b', '__init__.py'];
    for (const sample of samples) {
      const tokens = parseInline(sample);
      const shown = inlineText(tokens).replace(/\n/g, '');
      // Delimiters that did their job are gone; every other character is still there, in order.
      const letters = (s: string) => s.replace(/[*_`\\\n]/g, '');
      expect(letters(shown), sample).toBe(letters(sample));
    }
  });

  it('reads long runs of unmatched delimiters as one paragraph of text, every character kept', () => {
    // A parser that backtracks on these would not finish within the test's timeout; how fast it is
    // belongs in bench/, not here.
    const nasty = '*a '.repeat(20_000) + '_b '.repeat(20_000) + '`'.repeat(5000);
    const blocks = parseMarkdown(nasty);
    expect(blocks).toHaveLength(1);
    const [block] = blocks;
    if (block?.kind !== 'paragraph') throw new Error(`expected one paragraph, got ${block?.kind}`);
    expect(inlineText(block.content)).toBe(nasty.trim());
  });
});

describe('transcriptTurns', () => {
  it('splits an HH prompt into turns and drops the empty turn the responses fill', () => {
    expect(transcriptTurns('\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Help me?\n\nAssistant:')).toEqual([
      { speaker: 'Human', text: 'Hi there' },
      { speaker: 'Assistant', text: 'Hello!' },
      { speaker: 'Human', text: 'Help me?' },
    ]);
  });

  it('keeps multi-line turns and text that only mentions a speaker', () => {
    expect(transcriptTurns('Human: a\nb Human: c\n\nAssistant:')).toEqual([{ speaker: 'Human', text: 'a\nb Human: c' }]);
  });

  it('gives a prompt without speakers as one turn', () => {
    expect(transcriptTurns('Write a poem.')).toEqual([{ speaker: null, text: 'Write a poem.' }]);
    expect(transcriptTurns('')).toEqual([]);
  });
});
