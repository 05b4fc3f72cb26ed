/**
 * The tokenizer's parts on their own: the byte map, the split pattern, special-token cutting, the
 * bounded cache and merges by rank. The whole is checked against GPT-2 in gpt2Parity.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { applyMerges, mergeTable, pairKey, pairOf } from '../../../src/main/lm/tokenizer/bpe';
import {
  BYTE_ORDER,
  byteToChar,
  bytesToTokenText,
  charToByte,
  tokenTextToBytes,
} from '../../../src/main/lm/tokenizer/bytes';
import { BoundedCache } from '../../../src/main/lm/tokenizer/cache';
import { pretokenize, specialPattern, splitSpecial } from '../../../src/main/lm/tokenizer/pretokenize';

describe('bytes to unicode', () => {
  it('gives 256 distinct printable characters, printable Latin-1 bytes standing for themselves', () => {
    expect(new Set(byteToChar).size).toBe(256);
    expect(byteToChar[0x41]).toBe('A');
    expect(byteToChar[0xe9]).toBe('é');
    expect(byteToChar[0x20]).toBe('Ġ');
    expect(byteToChar[0x0a]).toBe('Ċ');
    expect(byteToChar[0x00]).toBe('Ā');
    expect(byteToChar[0xad]).toBe('Ń'); // the soft hyphen, last of the 68 moved bytes
    for (const char of byteToChar) expect(/\s/u.test(char), `byte char ${JSON.stringify(char)}`).toBe(false);
  });

  it('orders bytes as GPT-2 numbers its first 256 tokens: printable first, then the moved ones', () => {
    expect(BYTE_ORDER).toHaveLength(256);
    expect(new Set(BYTE_ORDER).size).toBe(256);
    expect(BYTE_ORDER[0]).toBe(0x21); // '!' is id 0
    expect(BYTE_ORDER.indexOf(0x20)).toBe(220); // 'Ġ' is id 220
    expect(BYTE_ORDER.indexOf(0x0a)).toBe(198); // 'Ċ' is id 198
    expect(BYTE_ORDER[187]).toBe(0xff);
    expect(BYTE_ORDER[188]).toBe(0x00);
  });

  it('round-trips bytes through token text, and refuses characters that stand for no byte', () => {
    const bytes = new TextEncoder().encode('hi there €');
    expect(bytesToTokenText(bytes)).toBe('hiĠthereĠâĤ¬');
    expect(tokenTextToBytes('hiĠthereĠâĤ¬')).toEqual(bytes);
    expect(tokenTextToBytes('<|endoftext|>')).toEqual(new TextEncoder().encode('<|endoftext|>'));
    expect(tokenTextToBytes('a b')).toBeNull(); // a real space is not a byte-level character
    expect(tokenTextToBytes('東')).toBeNull();
    for (let b = 0; b < 256; b++) expect(charToByte.get(byteToChar[b]!)).toBe(b);
  });
});

describe('pre-tokenisation', () => {
  it('splits as GPT-2 does: words with their leading space, the last space of a run kept for the next word', () => {
    expect(pretokenize("Hello world's  2024!\n\n")).toEqual(['Hello', ' world', "'s", ' ', ' 2024', '!', '\n\n']);
    expect(pretokenize('a   b')).toEqual(['a', '  ', ' b']);
    expect(pretokenize('x  ')).toEqual(['x', '  ']);
    // The last whitespace before a word is left alone, then taken by the bare \s+ (a tab has no ' ?' to join).
    expect(pretokenize('\t\tTabs')).toEqual(['\t', '\t', 'Tabs']);
    expect(pretokenize('')).toEqual([]);
  });

  it('takes whitespace to be Unicode White_Space: U+0085 is, U+FEFF is not', () => {
    expect(pretokenize(' \u0085x')).toEqual([' ', '\u0085', 'x']);
    expect(pretokenize('x \uFEFFy')).toEqual(['x', ' \uFEFF', 'y']);
    expect(pretokenize('a\u3000\u3000b')).toEqual(['a', '\u3000', '\u3000', 'b']);
  });

  it("splits lowercase contractions only: 'S is punctuation then a word", () => {
    expect(pretokenize("it's they're we've I'm you'll he'd don't")).toEqual([
      'it',
      "'s",
      ' they',
      "'re",
      ' we',
      "'ve",
      ' I',
      "'m",
      ' you',
      "'ll",
      ' he',
      "'d",
      ' don',
      "'t",
    ]);
    expect(pretokenize("IT'S 'Sorry'")).toEqual(['IT', "'", 'S', " '", 'Sorry', "'"]);
  });

  it('is Unicode-aware: letters and digits of every script, emoji as punctuation', () => {
    expect(pretokenize('café 東京 مرحبا ١٢٣')).toEqual(['café', ' 東京', ' مرحبا', ' ١٢٣']);
    expect(pretokenize('a 👍👍 b')).toEqual(['a', ' 👍👍', ' b']);
  });
});

describe('special tokens', () => {
  it('are cut out whole, the longest first where one is a prefix of another', () => {
    const pattern = specialPattern(['<|a|>', '<|a|>x']);
    expect(splitSpecial('1<|a|>x2<|a|>', pattern)).toEqual([
      { text: '1' },
      { special: '<|a|>x' },
      { text: '2' },
      { special: '<|a|>' },
    ]);
  });

  it('escape regular-expression characters and leave text alone without a pattern', () => {
    const pattern = specialPattern(['[.*+?]', 'a|b']);
    expect(splitSpecial('x[.*+?]ya|b', pattern)).toEqual([
      { text: 'x' },
      { special: '[.*+?]' },
      { text: 'y' },
      { special: 'a|b' },
    ]);
    expect(splitSpecial('x.y', pattern)).toEqual([{ text: 'x.y' }]);
    expect(specialPattern([])).toBeNull();
    expect(splitSpecial('abc', null)).toEqual([{ text: 'abc' }]);
    expect(splitSpecial('', null)).toEqual([]);
  });
});

describe('BoundedCache', () => {
  it('holds at most its capacity, dropping the oldest insertion', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10); // an update does not evict
    expect(cache.size).toBe(2);
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(2);
    expect(cache.get('c')).toBe(3);
    expect(() => new BoundedCache(0)).toThrow(/capacity/);
  });
});

describe('merges by rank', () => {
  // ids: a=0, b=1, X=2 (a+b), Y=3 (X+b), Z=4 (b+a)
  const table = mergeTable([
    [0, 1, 2],
    [2, 1, 3],
    [1, 0, 4],
  ]);

  it('applies the lowest-ranked pair first, every occurrence left to right', () => {
    expect(applyMerges([0, 1, 1, 0, 1], table)).toEqual([3, 2]);
    // (b,a) has a higher rank than (a,b), so 'bab' becomes b + X, not Z + b.
    expect(applyMerges([1, 0, 1], table)).toEqual([1, 2]);
    // Overlapping occurrences: left to right, as encoder.py.
    const aa = mergeTable([[0, 0, 5]]);
    expect(applyMerges([0, 0, 0], aa)).toEqual([5, 0]);
    expect(applyMerges([0, 0, 0, 0], aa)).toEqual([5, 5]);
  });

  it('leaves words with no mergeable pair alone and does not change its input', () => {
    const input = [1, 1, 1];
    expect(applyMerges(input, table)).toEqual([1, 1, 1]);
    expect(applyMerges([], table)).toEqual([]);
    const word = [0, 1];
    applyMerges(word, table);
    expect(word).toEqual([0, 1]);
  });

  it('packs pairs into keys that order by the first id, then the second', () => {
    expect(pairOf(pairKey(50256, 3))).toEqual([50256, 3]);
    expect(pairKey(1, 50000)).toBeLessThan(pairKey(2, 0));
  });
});
