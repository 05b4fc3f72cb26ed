/**
 * The rating screen's text readers: markdown as both responses and the guidelines show it
 * (markdown-it with HTML off, read into blocks that Markdown.svelte turns into DOM through markup,
 * never HTML; the component is rendered here too, on the server side of Svelte, to see the
 * elements it makes), and the HH transcript split into turns.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from 'svelte/compiler';
import type { Component } from 'svelte';
import { render } from 'svelte/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inlineText,
  isLinkable,
  openLink,
  parseMarkdown,
  type Block,
  type Inline,
} from '../../src/renderer/src/lib/markdown';
import { transcriptTurns } from '../../src/renderer/src/features/rate/transcript';

const text = (t: string): Inline => ({ kind: 'text', text: t });
const para = (...content: Inline[]): Block => ({ kind: 'paragraph', content });
/** A paragraph of a tight list item. */
const tight = (...content: Inline[]): Block => ({ kind: 'paragraph', content, tight: true });
const bullets = (...items: Block[][]): Block => ({ kind: 'list', ordered: false, start: 1, items });
/** The inline content of a text that is one paragraph. */
const inline = (source: string): Inline[] => {
  const blocks = parseMarkdown(source);
  if (blocks.length !== 1 || blocks[0]?.kind !== 'paragraph')
    throw new Error(`expected one paragraph from ${JSON.stringify(source)}`);
  return blocks[0].content;
};

/** All the text of blocks, nested ones too. */
const blocksText = (blocks: Block[]): string =>
  blocks
    .map((b) =>
      b.kind === 'paragraph' || b.kind === 'heading'
        ? inlineText(b.content)
        : b.kind === 'code'
          ? b.text
          : b.kind === 'list'
            ? b.items.map(blocksText).join('')
            : b.kind === 'quote'
              ? blocksText(b.children)
              : '',
    )
    .join('');

describe('parseMarkdown: blocks', () => {
  it('splits paragraphs on blank lines and keeps single newlines as line breaks', () => {
    expect(parseMarkdown('one\ntwo\n\n\nthree')).toEqual([
      para(text('one'), { kind: 'break' }, text('two')),
      para(text('three')),
    ]);
    expect(parseMarkdown('a\r\nb')).toEqual([para(text('a'), { kind: 'break' }, text('b'))]);
  });

  it('joins lines with a space when breaks are off (hard-wrapped guidelines), but keeps hard breaks', () => {
    expect(parseMarkdown('one\ntwo\n- a\n  b', { breaks: false })).toEqual([
      para(text('one two')),
      bullets([tight(text('a b'))]),
    ]);
    expect(parseMarkdown('one  \ntwo', { breaks: false })).toEqual([para(text('one'), { kind: 'break' }, text('two'))]);
  });

  it('reads nothing from empty or blank text', () => {
    expect(parseMarkdown('')).toEqual([]);
    expect(parseMarkdown('  \n\n \t')).toEqual([]);
  });

  it('reads fenced and indented code verbatim, with its language, and an unclosed fence to the end', () => {
    expect(parseMarkdown('Run:\n```sh\nls *.txt\n**not bold**\n```\nDone.')).toEqual([
      para(text('Run:')),
      { kind: 'code', lang: 'sh', text: 'ls *.txt\n**not bold**' },
      para(text('Done.')),
    ]);
    expect(parseMarkdown('~~~\ncut off')).toEqual([{ kind: 'code', lang: '', text: 'cut off' }]);
    // A shorter fence does not close a longer one.
    expect(parseMarkdown('````\n```\nx\n````')).toEqual([{ kind: 'code', lang: '', text: '```\nx' }]);
    expect(parseMarkdown('text\n\n    indented <b>\n    code')).toEqual([
      para(text('text')),
      { kind: 'code', lang: '', text: 'indented <b>\ncode' },
    ]);
  });

  it('reads bullet and numbered lists, with their start, continuation lines and loose items', () => {
    expect(parseMarkdown('Steps:\n1. mix\n2. **bake**\n   slowly\n3. eat')).toEqual([
      para(text('Steps:')),
      {
        kind: 'list',
        ordered: true,
        start: 1,
        items: [
          [tight(text('mix'))],
          [tight({ kind: 'strong', children: [text('bake')] }, { kind: 'break' }, text('slowly'))],
          [tight(text('eat'))],
        ],
      },
    ]);
    // A new bullet character starts a new list.
    expect(parseMarkdown('- a\n* b')).toEqual([bullets([tight(text('a'))]), bullets([tight(text('b'))])]);
    expect(parseMarkdown('4) four\n5) five')).toMatchObject([{ kind: 'list', ordered: true, start: 4 }]);
    expect(parseMarkdown('- a\n\nafter')).toEqual([bullets([tight(text('a'))]), para(text('after'))]);
    // A blank line between items makes the list loose: its items hold real paragraphs.
    expect(parseMarkdown('- a\n\n- b')).toEqual([bullets([para(text('a'))], [para(text('b'))])]);
  });

  it('reads nested lists, mixed kinds and several levels deep', () => {
    expect(parseMarkdown('- fruit\n  1. apple\n  2. pear\n     - green\n- veg')).toEqual([
      bullets(
        [
          tight(text('fruit')),
          {
            kind: 'list',
            ordered: true,
            start: 1,
            items: [[tight(text('apple'))], [tight(text('pear')), bullets([tight(text('green'))])]],
          },
        ],
        [tight(text('veg'))],
      ),
    ]);
  });

  it('reads blockquotes, nested and holding other blocks', () => {
    expect(parseMarkdown('> said **this**\n> - a\n>> deeper\n\nout')).toEqual([
      {
        kind: 'quote',
        children: [
          para(text('said '), { kind: 'strong', children: [text('this')] }),
          bullets([tight(text('a'))]),
          { kind: 'quote', children: [para(text('deeper'))] },
        ],
      },
      para(text('out')),
    ]);
  });

  it('reads GFM tables with their alignment and inline markup in cells', () => {
    expect(parseMarkdown('| Name | Score | Note |\n|:--|--:|:-:|\n| a | **2** | `x` |\n| b | 3 |')).toEqual([
      {
        kind: 'table',
        align: ['left', 'right', 'center'],
        head: [[text('Name')], [text('Score')], [text('Note')]],
        rows: [
          [[text('a')], [{ kind: 'strong', children: [text('2')] }], [{ kind: 'code', text: 'x' }]],
          // A short row is filled with empty cells.
          [[text('b')], [text('3')], []],
        ],
      },
    ]);
    expect(parseMarkdown('| a |\n|---|')).toEqual([{ kind: 'table', align: [null], head: [[text('a')]], rows: [] }]);
  });

  it('reads rules and headings, and does not take a sum or a hashtag for either', () => {
    expect(parseMarkdown('above\n\n---\n\nbelow')).toEqual([
      para(text('above')),
      { kind: 'rule' },
      para(text('below')),
    ]);
    expect(parseMarkdown('2 * 3 * 4')).toEqual([para(text('2 * 3 * 4'))]);
    expect(parseMarkdown('*emphasis* first')).toEqual([
      para({ kind: 'em', children: [text('emphasis')] }, text(' first')),
    ]);
    expect(parseMarkdown('## Plan ##\ntext')).toEqual([
      { kind: 'heading', level: 2, content: [text('Plan')] },
      para(text('text')),
    ]);
    expect(parseMarkdown('#hashtag')).toEqual([para(text('#hashtag'))]);
  });
});

describe('parseMarkdown: inline', () => {
  it('reads bold, italic, both, strikethrough and code spans', () => {
    expect(inline('a **b** c')).toEqual([text('a '), { kind: 'strong', children: [text('b')] }, text(' c')]);
    expect(inline('*i* and _j_')).toEqual([
      { kind: 'em', children: [text('i')] },
      text(' and '),
      { kind: 'em', children: [text('j')] },
    ]);
    expect(inline('***x***')).toEqual([{ kind: 'em', children: [{ kind: 'strong', children: [text('x')] }] }]);
    expect(inline('*a **b** c*')).toEqual([
      { kind: 'em', children: [text('a '), { kind: 'strong', children: [text('b')] }, text(' c')] },
    ]);
    expect(inline('~~old~~ new')).toEqual([{ kind: 'strike', children: [text('old')] }, text(' new')]);
    expect(inline('use `x*y*z` here')).toEqual([text('use '), { kind: 'code', text: 'x*y*z' }, text(' here')]);
    expect(inline('``a ` b``')).toEqual([{ kind: 'code', text: 'a ` b' }]);
  });

  it('leaves unmatched and spaced delimiters, snake_case and escapes as text', () => {
    expect(inline('a * b * c')).toEqual([text('a * b * c')]);
    expect(inline('**open')).toEqual([text('**open')]);
    expect(inline('snake_case_name')).toEqual([text('snake_case_name')]);
    expect(inline('\\*not\\*')).toEqual([text('*not*')]);
    expect(inline('`open')).toEqual([text('`open')]);
    expect(inline('a **** b')).toEqual([text('a **** b')]);
    // Alone on its line, "****" is a rule (CommonMark), as "---" is.
    expect(parseMarkdown('****')).toEqual([{ kind: 'rule' }]);
  });

  it('reads http(s) and mailto links with their URL, and only those', () => {
    expect(inline('see [the docs](https://example.com/a?b=1 "t") or [mail](mailto:x@example.com)')).toEqual([
      text('see '),
      { kind: 'link', href: 'https://example.com/a?b=1', children: [text('the docs')] },
      text(' or '),
      { kind: 'link', href: 'mailto:x@example.com', children: [text('mail')] },
    ]);
    expect(inline('<http://example.com>')).toEqual([
      { kind: 'link', href: 'http://example.com', children: [text('http://example.com')] },
    ]);
    // The URL is markdown-it's normalised one: what the browser would really be sent to.
    expect(inline('[x](https://example.com/ü é)')).toEqual([text('[x](https://example.com/ü é)')]);
    expect(inline('[x](<https://example.com/ü é>)')).toEqual([
      { kind: 'link', href: 'https://example.com/%C3%BC%20%C3%A9', children: [text('x')] },
    ]);
    // A bare URL is text (no linkify: "setup.py" is no web site).
    expect(inline('https://example.com and setup.py')).toEqual([text('https://example.com and setup.py')]);
    // Any other target is text: the link's text, then the target.
    expect(inline('[notes](notes.md) [call](tel:123) [f](ftp://x.org/f)')).toEqual([
      text('notes (notes.md) call (tel:123) f (ftp://x.org/f)'),
    ]);
    expect(inline('[**b**](other)')).toEqual([{ kind: 'strong', children: [text('b')] }, text(' (other)')]);
  });

  it('shows an image as its alt text and its URL, never as an image to load', () => {
    expect(inline('![a *cat*](https://example.com/cat.png)')).toEqual([
      { kind: 'image', alt: 'a cat', src: 'https://example.com/cat.png' },
    ]);
    expect(inline('[![logo](https://e.com/l.png)](https://e.com)')).toEqual([
      { kind: 'link', href: 'https://e.com', children: [{ kind: 'image', alt: 'logo', src: 'https://e.com/l.png' }] },
    ]);
  });

  it('keeps markup as text: no HTML, and no script, data or vbscript URL becomes a link', () => {
    const hostile = '<img src=x onerror=alert(1)> <script>alert(1)</script> [link](javascript:alert(1))';
    expect(parseMarkdown(hostile)).toEqual([para(text(hostile))]);
    expect(parseMarkdown('<div onclick="x()">\nhi\n</div>')).toEqual([
      para(text('<div onclick="x()">'), { kind: 'break' }, text('hi'), { kind: 'break' }, text('</div>')),
    ]);
    for (const target of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'vbscript:msgbox(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
    ]) {
      for (const source of [`[x](${target})`, `[x](<${target}>)`, `<${target}>`, `[x][r]\n\n[r]: ${target}`]) {
        const links: string[] = [];
        const walk = (tokens: Inline[]): void => {
          for (const t of tokens) {
            if (t.kind === 'link') links.push(t.href);
            if ('children' in t) walk(t.children);
          }
        };
        for (const block of parseMarkdown(source)) if (block.kind === 'paragraph') walk(block.content);
        expect(links, source).toEqual([]);
      }
    }
    // An entity-encoded scheme, a leading space or a control character does not sneak one through.
    for (const source of [
      '[x](&#106;avascript:alert(1))',
      '[x](java&#x09;script:alert(1))',
      '[x]( javascript:alert(1))',
      '[x](\\javascript:alert(1))',
    ]) {
      expect(JSON.stringify(parseMarkdown(source)), source).not.toContain('"kind":"link"');
    }
    expect(isLinkable('https://a.b')).toBe(true);
    expect(isLinkable('mailto:a@b.c')).toBe(true);
    expect(isLinkable('javascript:alert(1)')).toBe(false);
    expect(isLinkable('//evil.example')).toBe(false);
  });

  it('keeps every character of arbitrary model output', () => {
    const samples = ['**a *b** c*', '_a *b_ c*', '* * *x', '`a``b`', '**\n**', 'x**y**z', '\\', 'a\\b', '__init__.py'];
    for (const sample of samples) {
      const shown = blocksText(parseMarkdown(sample));
      // Delimiters and list markers that did their job are gone; every other character is still there, in order.
      const letters = (s: string) => s.replace(/[*_`\\\s]/g, '');
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

describe('openLink', () => {
  it('names the URL and asks first, then opens it with no opener and no referrer', () => {
    const asked: string[] = [];
    const opened: unknown[][] = [];
    const open = (...args: unknown[]) => opened.push(args);
    expect(openLink('https://example.com/x', (m) => (asked.push(m), false), open)).toBe(false);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('https://example.com/x');
    expect(opened).toEqual([]);
    expect(openLink('https://example.com/x', () => true, open)).toBe(true);
    expect(opened).toEqual([['https://example.com/x', '_blank', 'noopener,noreferrer']]);
  });

  it('opens nothing but http(s) and mailto, and does not even ask', () => {
    let asked = 0;
    for (const href of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd']) {
      expect(
        openLink(
          href,
          () => (asked++, true),
          () => expect.fail(`opened ${href}`),
        ),
      ).toBe(false);
    }
    expect(asked).toBe(0);
  });
});

describe('Markdown.svelte', () => {
  // The component compiled for the server and rendered to HTML: the elements it makes, without a browser.
  let dir = '';
  let Markdown: Component<{ text: string; breaks?: boolean; testid?: string }>;

  beforeAll(async () => {
    const file = fileURLToPath(new URL('../../src/renderer/src/ui/Markdown.svelte', import.meta.url));
    const { js } = compile(readFileSync(file, 'utf8'), { generate: 'server', filename: file });
    const require = createRequire(import.meta.url);
    // Imports point at real files, so the compiled module can live in a temporary folder.
    const code = js.code.replace(/from '([^']+)'/g, (_, spec: string) => {
      if (!spec.startsWith('.')) return `from ${JSON.stringify(require.resolve(spec))}`;
      const target = resolve(dirname(file), spec);
      return `from ${JSON.stringify(existsSync(target) ? target : `${target}.ts`)}`;
    });
    dir = mkdtempSync(join(tmpdir(), 'alol-markdown-'));
    writeFileSync(join(dir, 'Markdown.js'), code);
    Markdown = ((await import(pathToFileURL(join(dir, 'Markdown.js')).href)) as { default: typeof Markdown }).default;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The rendered HTML without Svelte's hydration comments and scoping classes. */
  const html = (text: string, breaks = true): string =>
    render(Markdown, { props: { text, breaks } })
      .body.replace(/<!--[^>]*-->/g, '')
      .replace(/ ?svelte-[a-z0-9]+/g, '')
      .replace(/ class=""/g, '');

  it('draws hostile text as text: no script, no image, no handler, no script URL', () => {
    const out = html(
      '<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n[a](javascript:alert(1)) ![i](javascript:alert(1))',
    );
    expect(out).not.toMatch(/<script|<img|<iframe/i);
    expect(out).not.toMatch(/<[^>]+\sonerror=/i);
    expect(out).not.toMatch(/href="javascript:/i);
    expect(out).toContain('&lt;script>alert(1)&lt;/script>');
    expect(out).toContain('&lt;img src=x onerror=alert(1)>');
  });

  it('draws a link with its URL, a new window, no opener and no referrer; an image as text', () => {
    const out = html('[docs](https://example.com/d) <https://example.com> ![cat](https://example.com/c.png)');
    expect(out).toContain(
      '<a href="https://example.com/d" target="_blank" rel="noopener noreferrer" title="https://example.com/d">docs</a><span class="url">(https://example.com/d)</span>',
    );
    // An autolink's text is its URL already: shown once.
    expect(out).toContain(
      '<a href="https://example.com" target="_blank" rel="noopener noreferrer" title="https://example.com">https://example.com</a> ',
    );
    expect(out).toContain(
      '<span class="image">[image: cat]<span class="url">(https://example.com/c.png)</span></span>',
    );
    expect(out).not.toMatch(/<img/);
  });

  it('draws tables, blockquotes, nested lists, code, rules and headings as their elements', () => {
    const out = html(
      '# Title\n\n> quoted\n\n- a\n  1. b\n\n| x | y |\n|---|--:|\n| 1 | 2 |\n\n---\n\n```js\nlet a = "<b>";\n```',
    );
    expect(out).toContain('<p class="heading major">Title</p>');
    expect(out).toContain('<blockquote><p>quoted</p></blockquote>');
    expect(out).toContain(
      '<ul><li><div class="tight">a</div><ol start="1"><li><div class="tight">b</div></li></ol></li></ul>',
    );
    expect(out).toContain(
      '<table><thead><tr><th>x</th><th class="align-right">y</th></tr></thead><tbody><tr><td>1</td><td class="align-right">2</td></tr></tbody></table>',
    );
    expect(out).toContain('<hr/>');
    expect(out).toContain('<pre class="block" data-lang="js"><code>let a = "&lt;b>";</code></pre>');
  });

  it('shows empty text as empty, and guidelines with lines joined', () => {
    expect(html('')).toContain('<p class="empty">(empty)</p>');
    expect(html('Be kind\nand brief.\n\n- one', false)).toContain('<p>Be kind and brief.</p>');
    expect(html('Be kind\nand brief.')).toContain('<p>Be kind<br/>and brief.</p>');
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
    expect(transcriptTurns('Human: a\nb Human: c\n\nAssistant:')).toEqual([
      { speaker: 'Human', text: 'a\nb Human: c' },
    ]);
  });

  it('gives a prompt without speakers as one turn', () => {
    expect(transcriptTurns('Write a poem.')).toEqual([{ speaker: null, text: 'Write a poem.' }]);
    expect(transcriptTurns('')).toEqual([]);
  });
});
