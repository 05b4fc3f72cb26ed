/**
 * Parity with GPT-2's own vocabulary. The oracle is gpt-3-encoder (a devDependency): a port of
 * OpenAI's encoder.py that ships GPT-2's encoder.json (= vocab.json) and vocab.bpe (= merges.txt).
 * Our tokenizer is built from those two files and must give the oracle's ids on every text here,
 * and decode them back to the text. The oracle knows no special tokens, so <|endoftext|> is
 * checked on its own. It splits on JavaScript's \s, which differs from Unicode's White_Space (what
 * Hugging Face and we use) in U+0085 and U+FEFF: those two are checked on their own too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { encode as referenceEncode, decode as referenceDecode } from 'gpt-3-encoder';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../src/main/lm/tokenizer';
import { byteToChar } from '../../../src/main/lm/tokenizer/bytes';

const oracleDir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder'));
const gpt2 = Tokenizer.fromVocabAndMerges(
  JSON.parse(readFileSync(join(oracleDir, 'encoder.json'), 'utf8')),
  readFileSync(join(oracleDir, 'vocab.bpe'), 'utf8'),
  oracleDir,
);

// Shared test data lives beside the project, never inside it (see ../shared/data/README.md).
const HH_RLHF = fileURLToPath(new URL('../../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const hhTexts: string[] = existsSync(HH_RLHF)
  ? gunzipSync(readFileSync(HH_RLHF))
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, 300)
      .flatMap((line) => {
        const pair = JSON.parse(line) as { chosen: string; rejected: string };
        return [pair.chosen, pair.rejected];
      })
  : [];

const varied: Record<string, string[]> = {
  plain: ['', 'Hello, world!', 'The quick brown fox jumps over the lazy dog.', 'a', 'A'],
  accents: [
    'Café naïve façade résumé Ångström Øresund',
    'Ñandú über Straße, señor; crème brûlée à la carte',
    'ÀÉÎÕÜ àéîõü ÿ',
  ],
  cjk: ['東京は日本の首都です。', '中文测试，简体与繁體。', '한국어 텍스트 처리', 'カタカナとひらがな'],
  rtlAndOthers: ['مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Привет, мир! Ελληνικά'],
  emoji: ['👍 😀😃😄', '👩‍👩‍👧‍👦 family', '👨🏽‍💻 coder 🏳️‍🌈 flag', '🇺🇸🇯🇵🇫🇷', '❤️ ✨ ☕️', 'x👍y'],
  whitespace: [
    '   leading',
    'trailing   ',
    'a  b   c    d',
    '\n\n\nnewlines\n \n',
    '\t\tTabs\tand\t \tspaces',
    '\r\nCRLF\r\n',
    ' ',
    '  ',
    '\n',
    ' \n \n',
    'ideographic\u3000space em\u2003space nbsp\u00a0here',
    'line\u2028separator',
  ],
  contractions: [
    "it's don't they're we've I'm you'll he'd",
    "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
    "The dog'S bone",
    "'Sorry,' JOHN'SON said; 'Twas 'Ll 'Re",
    "'s's'll'd're've'm't",
    "O'Neil's rock'n'roll",
    'it’s curly',
  ],
  numbers: ['1234567890 3.14159 -42 1,000,000', '١٢٣ ²³ ½ Ⅻ', '2024-01-01T12:34:56Z', '0x1F 1e-9 007'],
  code: [
    'function f(x) {\n  return x * 2; // double\n}\n',
    'if (a != b && c >= d) { arr[i++] = "str\\n"; }',
    'def foo(bar):\n    return {"k": [1, 2]}\n',
    '<div class="a">&amp;</div>',
    '    indented\n        more\n',
  ],
  urls: ['https://example.com/path/to?query=1&b=two#frag', 'mailto:someone@example.org', 'www.a-b.co.uk/x_y'],
  edges: [
    'Ünïcödé ★☆ → ∑∞ ≠ ±',
    'ZWJ alone \u200d and ZWNJ \u200c, soft\u00adhyphen',
    '\u0000\u0001\u007f control',
    '\uFEFFbyte order mark',
    'a'.repeat(300),
    'ab'.repeat(200),
    ',,,,,,,, ,,, ,',
    '.....!!!???',
    '__proto__ constructor toString',
    '<|endoftext', // near a special token, but not one
  ],
};

describe('encode and decode match GPT-2 (gpt-3-encoder as the oracle)', () => {
  for (const [kind, texts] of Object.entries(varied)) {
    it(`${kind}: the same ids, and decode gives the text back`, () => {
      for (const text of texts) {
        const ids = gpt2.encode(text);
        expect(ids, JSON.stringify(text)).toEqual(referenceEncode(text));
        expect(gpt2.decode(ids), JSON.stringify(text)).toBe(text);
      }
    });
  }

  it('the real HH-RLHF transcripts (first 300 lines, both replies) give the same ids and round-trip', () => {
    if (hhTexts.length === 0) {
      console.warn(`NOTE: ${HH_RLHF} is absent: the HH-RLHF parity check did not run`);
      return;
    }
    expect(hhTexts).toHaveLength(600);
    let tokens = 0;
    for (const text of hhTexts) {
      const ids = gpt2.encode(text);
      tokens += ids.length;
      expect(ids).toEqual(referenceEncode(text));
      expect(gpt2.decode(ids)).toBe(text);
    }
    expect(tokens).toBeGreaterThan(50_000);
  });

  it('decodes ids as the oracle does, and some well-known ids are right', () => {
    const ids = gpt2.encode(varied.emoji!.join(' '));
    expect(gpt2.decode(ids)).toBe(referenceDecode(ids));
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2.tokenId('Ġthe')).toBe(262);
    expect(gpt2.tokenId('!')).toBe(0);
    expect(gpt2.vocabSize).toBe(50257);
  });

  it("follows Hugging Face on U+0085 and U+FEFF, where gpt-3-encoder's JavaScript \\s differs", () => {
    // The expected ids are what Hugging Face's tokenizers (0.23) gives for GPT-2's tokenizer.json.
    expect(gpt2.encode(' \u0085x')).toEqual([220, 126, 227, 87]);
    expect(referenceEncode(' \u0085x')).toEqual([1587, 227, 87]);
    expect(gpt2.encode('x \uFEFFy')).toEqual([87, 27332, 119, 123, 88]);
    expect(referenceEncode('x \uFEFFy')).toEqual([87, 220, 171, 119, 123, 88]);
    for (const text of [' \u0085x', 'x \uFEFFy']) expect(gpt2.decode(gpt2.encode(text))).toBe(text);
  });

  it('gives a lone surrogate the bytes of U+FFFD, as the oracle does, so it cannot round-trip', () => {
    expect(gpt2.encode('a\uD800b')).toEqual(referenceEncode('a\uD800b'));
    expect(gpt2.decode(gpt2.encode('a\uD800b'))).toBe('a\uFFFDb');
  });

  it('uses the cache without changing answers: the same text twice gives the same ids', () => {
    const text = hhTexts[0] ?? varied.contractions!.join(' ');
    expect(gpt2.encode(text)).toEqual(gpt2.encode(text));
  });
});

describe('<|endoftext|>', () => {
  it('is id 50256, the eos token, matched whole by default', () => {
    expect(gpt2.tokenId('<|endoftext|>')).toBe(50256);
    expect(gpt2.eosTokenId).toBe(50256);
    expect(gpt2.encode('<|endoftext|>')).toEqual([50256]);
    expect(gpt2.encode('Hi.<|endoftext|> Bye<|endoftext|><|endoftext|>')).toEqual([
      ...referenceEncode('Hi.'),
      50256,
      ...referenceEncode(' Bye'),
      50256,
      50256,
    ]);
    expect(gpt2.decode([...gpt2.encode('Hi.'), 50256])).toBe('Hi.<|endoftext|>');
  });

  it("is plain text with allowedSpecial 'none' or a set without it", () => {
    const asText = referenceEncode('x<|endoftext|>');
    expect(asText).not.toContain(50256);
    expect(gpt2.encode('x<|endoftext|>', { allowedSpecial: 'none' })).toEqual(asText);
    expect(gpt2.encode('x<|endoftext|>', { allowedSpecial: new Set() })).toEqual(asText);
    expect(gpt2.encode('x<|endoftext|>', { allowedSpecial: new Set(['<|endoftext|>']) })).toEqual([87, 50256]);
    expect(() => gpt2.encode('x', { allowedSpecial: new Set(['<|nope|>']) })).toThrow(
      /"<\|nope\|>", which is not a special token/,
    );
  });

  it('cuts the text so no merge crosses it: the pieces encode as if alone', () => {
    expect(gpt2.encode('hello<|endoftext|>world')).toEqual([
      ...referenceEncode('hello'),
      50256,
      ...referenceEncode('world'),
    ]);
  });
});

describe('decode', () => {
  const byteId = (b: number) => gpt2.tokenId(byteToChar[b]!)!;

  it('turns invalid UTF-8 into U+FFFD, one per maximal invalid part, as Hugging Face does', () => {
    // '€' is E2 82 AC: its first two bytes alone are one truncated sequence.
    expect(gpt2.decode([byteId(0xe2), byteId(0x82)])).toBe('\uFFFD');
    expect(gpt2.decode([byteId(0xe2), byteId(0x82), byteId(0x41)])).toBe('\uFFFDA');
    expect(gpt2.decode([byteId(0xc3), byteId(0x28)])).toBe('\uFFFD(');
    expect(gpt2.decode([byteId(0xff), byteId(0xfe)])).toBe('\uFFFD\uFFFD');
    // Split across calls, the halves of a character are each invalid; joined they are valid.
    const euro = gpt2.encode('€');
    expect(gpt2.decode(euro)).toBe('€');
  });

  it('keeps a leading byte order mark, and refuses ids no token has', () => {
    expect(gpt2.decode(gpt2.encode('\uFEFF'))).toBe('\uFEFF');
    expect(gpt2.decode([])).toBe('');
    expect(() => gpt2.decode([50257])).toThrow(/50257 is not a token id/);
    expect(() => gpt2.decode([-1])).toThrow(/-1 is not a token id/);
    expect(() => gpt2.decode([1.5])).toThrow(/1.5 is not a token id/);
  });
});
