/**
 * Markdown for the responses an annotator compares and for a campaign's guidelines: text in, a
 * tree of blocks out, which Markdown.svelte turns into DOM through ordinary markup. The parsing is
 * markdown-it's (a maintained CommonMark parser with GFM tables and strikethrough) rather than our
 * own: it knows nested lists, blockquotes, tables and links, and the corner cases of emphasis,
 * without us keeping a parser. Its HTML is off (`html: false`: a tag in the text stays text) and
 * its renderer unused: this file turns its tokens into plain data, and the component builds DOM
 * from that without {@html}, so every character of the text reaches the page as text.
 *
 * What a link may be is decided here: only http(s) and mailto links become links (shown with their
 * URL, opened after a confirmation, see openLink); any other target stays as text, and an image is
 * its alt text and its URL, never loaded.
 *
 * "Use **care**:\n- one\n- two" ->
 *   [{ kind: 'paragraph', content: [text "Use ", strong [text "care"], text ":"] },
 *    { kind: 'list', ordered: false, start: 1, items: [[{ kind: 'paragraph', tight: true, content: [text "one"] }], ...] }]
 */
import MarkdownIt, { type Token } from 'markdown-it';

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'break' }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; children: Inline[] }
  | { kind: 'em'; children: Inline[] }
  | { kind: 'strike'; children: Inline[] }
  /** An http(s) or mailto link; `href` is markdown-it's normalised (percent-encoded) URL. */
  | { kind: 'link'; href: string; children: Inline[] }
  /** An image, never loaded: shown as its alt text and its URL. */
  | { kind: 'image'; alt: string; src: string };

export type Align = 'left' | 'center' | 'right' | null;

export type Block =
  /** `tight`: a paragraph of a tight list item, drawn without the paragraph's own spacing. */
  | { kind: 'paragraph'; content: Inline[]; tight?: true }
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { kind: 'quote'; children: Block[] }
  | { kind: 'table'; align: Align[]; head: Inline[][]; rows: Inline[][][] }
  | { kind: 'rule' };

export interface MarkdownOptions {
  /**
   * A single newline is a line break (the default: responses are written line by line); false
   * joins lines as markdown does, for hard-wrapped text such as guidelines.
   */
  breaks?: boolean;
}

/**
 * No linkify: a bare URL is already shown in full as text, and fuzzy linking would take names
 * such as "setup.py" (.py is a country's domain) for web sites.
 */
const parser = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** The link targets that become links: the web and e-mail, nothing that runs or embeds. */
const LINKABLE = /^(?:https?:\/\/|mailto:)/i;

export function isLinkable(href: string): boolean {
  return LINKABLE.test(href);
}

export function parseMarkdown(source: string, options: MarkdownOptions = {}): Block[] {
  const tokens = parser.parse(source, {});
  const reader = new BlockReader(tokens, options.breaks !== false);
  return reader.blocks(null);
}

/** markdown-it's block tokens are flat (open, content, close); this reads them back into a tree. */
class BlockReader {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly breaks: boolean,
  ) {}

  /** Blocks up to the token that closes the enclosing one (`until`), which it steps past. */
  blocks(until: string | null): Block[] {
    const out: Block[] = [];
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i++] as Token;
      if (token.type === until) return out;
      const block = this.block(token);
      if (block) out.push(block);
    }
    return out;
  }

  private block(token: Token): Block | null {
    switch (token.type) {
      case 'paragraph_open': {
        const content = this.inlineUntil('paragraph_close');
        return token.hidden ? { kind: 'paragraph', content, tight: true } : { kind: 'paragraph', content };
      }
      case 'heading_open':
        return { kind: 'heading', level: Number(token.tag.slice(1)) || 1, content: this.inlineUntil('heading_close') };
      case 'fence':
      case 'code_block':
        // A closed fence's text ends with the newline before the fence; an unclosed one runs to the end.
        return { kind: 'code', lang: token.info.trim().split(/\s+/)[0] ?? '', text: token.content.replace(/\n$/, '') };
      case 'bullet_list_open':
      case 'ordered_list_open':
        return this.list(token);
      case 'blockquote_open':
        return { kind: 'quote', children: this.blocks('blockquote_close') };
      case 'table_open':
        return this.table();
      case 'hr':
        return { kind: 'rule' };
      case 'inline':
        return { kind: 'paragraph', content: this.inline(token) };
      default:
        // With HTML off markdown-it makes no html_block; anything else unknown shows as its text.
        return token.content ? { kind: 'paragraph', content: [{ kind: 'text', text: token.content }] } : null;
    }
  }

  private list(open: Token): Block {
    const ordered = open.type === 'ordered_list_open';
    const close = ordered ? 'ordered_list_close' : 'bullet_list_close';
    const items: Block[][] = [];
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i++] as Token;
      if (token.type === close) break;
      if (token.type === 'list_item_open') items.push(this.blocks('list_item_close'));
    }
    const start = Number(open.attrGet('start') ?? 1);
    return { kind: 'list', ordered, start: Number.isFinite(start) ? start : 1, items };
  }

  private table(): Block {
    const align: Align[] = [];
    const head: Inline[][] = [];
    const rows: Inline[][][] = [];
    let row: Inline[][] | null = null;
    let inHead = false;
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i++] as Token;
      if (token.type === 'table_close') break;
      if (token.type === 'thead_open') inHead = true;
      else if (token.type === 'thead_close') inHead = false;
      else if (token.type === 'tr_open') row = inHead ? head : [];
      else if (token.type === 'tr_close') {
        if (row && !inHead) rows.push(row);
        row = null;
      } else if (token.type === 'th_open' || token.type === 'td_open') {
        if (inHead) align.push(cellAlign(token));
        row?.push(this.inlineUntil(token.type === 'th_open' ? 'th_close' : 'td_close'));
      }
    }
    return { kind: 'table', align, head, rows };
  }

  /** The inline content up to a closing token (a paragraph's, a heading's, a cell's). */
  private inlineUntil(close: string): Inline[] {
    let content: Inline[] = [];
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i++] as Token;
      if (token.type === close) break;
      if (token.type === 'inline') content = content.concat(this.inline(token));
    }
    return content;
  }

  private inline(token: Token): Inline[] {
    return new InlineReader(token.children ?? [], this.breaks).read(null);
  }
}

/** An attribute markdown-it set on a token (an href, a cell's alignment), or ''. */
function attr(token: Token, name: string): string {
  const value = token.attrGet(name);
  return value === null ? '' : String(value);
}

function cellAlign(token: Token): Align {
  const match = /text-align:\s*(left|center|right)/.exec(attr(token, 'style'));
  return (match?.[1] as Align | undefined) ?? null;
}

class InlineReader {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly breaks: boolean,
  ) {}

  /** Inline tokens up to `until` (the close of strong, em, a link), which it steps past. */
  read(until: string | null): Inline[] {
    const out: Inline[] = [];
    const text = (t: string): void => {
      if (t === '') return;
      const last = out[out.length - 1];
      if (last?.kind === 'text') last.text += t;
      else out.push({ kind: 'text', text: t });
    };
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i++] as Token;
      if (token.type === until) return out;
      switch (token.type) {
        case 'softbreak':
          if (this.breaks) out.push({ kind: 'break' });
          else text(' ');
          break;
        case 'hardbreak':
          out.push({ kind: 'break' });
          break;
        case 'code_inline':
          out.push({ kind: 'code', text: token.content });
          break;
        case 'strong_open':
          out.push({ kind: 'strong', children: this.read('strong_close') });
          break;
        case 'em_open':
          out.push({ kind: 'em', children: this.read('em_close') });
          break;
        case 's_open':
          out.push({ kind: 'strike', children: this.read('s_close') });
          break;
        case 'link_open': {
          const href = attr(token, 'href');
          const children = this.read('link_close');
          if (isLinkable(href)) out.push({ kind: 'link', href, children });
          else {
            // Any other target (a relative path, ftp:, tel:, ...) is no link: its text, then the target as text.
            for (const child of children)
              if (child.kind === 'text') text(child.text);
              else out.push(child);
            text(` (${href})`);
          }
          break;
        }
        case 'image':
          out.push({ kind: 'image', alt: plainText(token.children ?? []), src: attr(token, 'src') });
          break;
        default:
          // text, and anything unknown (html_inline cannot occur with HTML off): its text, as text.
          text(token.content);
      }
    }
    return out;
  }
}

/** The plain text of inline tokens, as a screen reader or a search would see it. */
export function inlineText(tokens: readonly Inline[]): string {
  return tokens
    .map((t) =>
      t.kind === 'text' || t.kind === 'code'
        ? t.text
        : t.kind === 'break'
          ? '\n'
          : t.kind === 'image'
            ? t.alt
            : inlineText(t.children),
    )
    .join('');
}

/** The text of markdown-it's inline tokens without their markup (an image's alt text). */
function plainText(tokens: Token[]): string {
  return tokens
    .map((t) =>
      t.type === 'image'
        ? plainText(t.children ?? [])
        : t.type === 'softbreak' || t.type === 'hardbreak'
          ? ' '
          : t.content,
    )
    .join('');
}

/**
 * What a click on a link does: names the URL and asks first, then opens it in a new window with no
 * opener and no referrer. The page's own confirm and open unless a test passes others.
 */
export function openLink(
  href: string,
  ask: (message: string) => boolean = (m) => window.confirm(m),
  open: (url: string, target: string, features: string) => unknown = (u, t, f) => window.open(u, t, f),
): boolean {
  if (!isLinkable(href)) return false;
  if (!ask(`Open this link in a new window?\n\n${href}`)) return false;
  open(href, '_blank', 'noopener,noreferrer');
  return true;
}
