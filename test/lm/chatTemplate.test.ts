/**
 * Chat templates rendered by @huggingface/jinja, compared with Python's Jinja2 set up as transformers'
 * apply_chat_template sets it up (test/fixtures/lm/chat/reference.json, made by make_reference.py
 * there) and with the documented formats written out by hand; HH transcripts and TRL rows as
 * messages; and the ids and training mask of prompt + response on real tokenizers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { realTokenizerFile } from '../helpers/realTokenizers';
import { describe, expect, it } from 'vitest';
import {
  ChatTemplate,
  ChatTemplateError,
  conversationToMessages,
  defaultFormat,
  encodeExample,
  encodePrompt,
  hhToMessages,
  messagesToHh,
  type ChatMessage,
} from '../../src/main/lm/chatTemplate';
import { HfTokenizer, Tokenizer, type TextTokenizer } from '../../src/main/lm/tokenizer';

const fixtures = join(__dirname, '..', 'fixtures', 'lm');

function readJson(path: string): Record<string, unknown> {
  const real = realTokenizerFile(path);
  if (real) return JSON.parse(real.toString('utf8')) as Record<string, unknown>;
  const bytes = readFileSync(join(fixtures, path));
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as Record<string, unknown>;
}
const jinja = (name: string) => readFileSync(join(fixtures, 'chat', name), 'utf8');

interface Case {
  messages: ChatMessage[];
  add_generation_prompt: boolean;
  variables?: Record<string, unknown>;
  rendered?: string;
  error?: string;
}
const reference = readJson('chat/reference.json') as {
  templates: Record<string, { specialTokens: Record<string, string>; cases: Case[] }>;
};

function templateSource(name: string): string {
  if (name === 'llama3' || name === 'qwen3')
    return readJson(`tokenizers/${name}.tokenizer_config.json`).chat_template as string;
  return jinja(`${name}.jinja`);
}

const U = (content: string) => ({ role: 'user', content });
const A = (content: string) => ({ role: 'assistant', content });
const S = (content: string) => ({ role: 'system', content });

describe('rendering equals Jinja2 under transformers settings', () => {
  for (const [name, { specialTokens, cases }] of Object.entries(reference.templates)) {
    it(name, () => {
      const tokens = {
        bos: specialTokens.bos_token,
        eos: specialTokens.eos_token,
        unk: specialTokens.unk_token,
        pad: specialTokens.pad_token,
      };
      const template = new ChatTemplate(templateSource(name), tokens, `${name} template`);
      for (const c of cases) {
        const render = () =>
          template.render(c.messages, { addGenerationPrompt: c.add_generation_prompt, variables: c.variables });
        if (c.error !== undefined) {
          expect(render).toThrow(ChatTemplateError);
          expect(render).toThrow(`${name} template: ${c.error}`);
        } else expect(render(), JSON.stringify(c.messages)).toBe(c.rendered);
      }
    });
  }
});

describe('a 2-turn conversation in each documented format', () => {
  const twoTurns = [U('What is 2+2?'), A('2+2 is 4.')];

  it('ChatML (Qwen2.5, SmolLM2): <|im_start|>role\\n...<|im_end|>\\n, the default system prompt first', () => {
    const qwen = new ChatTemplate(jinja('qwen2.5-like.jinja'), { eos: '<|im_end|>' });
    expect(qwen.render(twoTurns)).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nWhat is 2+2?<|im_end|>\n' +
        '<|im_start|>assistant\n2+2 is 4.<|im_end|>\n',
    );
    expect(qwen.render([U('What is 2+2?')], { addGenerationPrompt: true })).toMatch(
      /<\|im_end\|>\n<\|im_start\|>assistant\n$/,
    );
    const smol = new ChatTemplate(jinja('smollm2.jinja'), { bos: '<|im_start|>', eos: '<|im_end|>' });
    expect(smol.render([S('Be brief.'), ...twoTurns])).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n2+2 is 4.<|im_end|>\n',
    );
    expect(smol.render([U('Hi')], { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it("Qwen3's real template: ChatML, with an empty <think> block before the last reply", () => {
    const qwen3 = new ChatTemplate(templateSource('qwen3'), { eos: '<|im_end|>' });
    expect(qwen3.render(twoTurns)).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n2+2 is 4.<|im_end|>\n',
    );
    expect(qwen3.render([U('What is 2+2?')], { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it("Llama 3's real template: <|begin_of_text|>, headers, <|eot_id|>; it always ends with the assistant header", () => {
    const llama3 = new ChatTemplate(templateSource('llama3'), { bos: '<|begin_of_text|>', eos: '<|end_of_text|>' });
    const header = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
    expect(llama3.render(twoTurns)).toBe(
      `<|begin_of_text|>${header('user')}What is 2+2?<|eot_id|>${header('assistant')}2+2 is 4.<|eot_id|>${header('assistant')}`,
    );
    expect(llama3.render([U('What is 2+2?')], { addGenerationPrompt: true })).toBe(
      `<|begin_of_text|>${header('user')}What is 2+2?<|eot_id|>${header('assistant')}`,
    );
  });

  it('TinyLlama (Zephyr): <|user|>\\n...</s>\\n, block tags trimmed as transformers trims them', () => {
    const zephyr = new ChatTemplate(jinja('tinyllama.jinja'), { bos: '<s>', eos: '</s>' });
    expect(zephyr.render(twoTurns)).toBe('<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n2+2 is 4.</s>\n');
    expect(zephyr.render([U('What is 2+2?')], { addGenerationPrompt: true })).toBe(
      '<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n',
    );
  });

  it("strip, lstrip and rstrip take Python's chars argument", () => {
    const t = new ChatTemplate(
      "{{ messages[0].content.lstrip('\\n') }}|{{ messages[0].content.rstrip('\\n ') }}|{{ messages[0].content.strip('x\\n') }}|{{ messages[0].content.strip() }}",
    );
    expect(t.render([U('\n  a b  \n')])).toBe('  a b  \n|\n  a b|  a b  |a b');
  });

  it('raise_exception is an error naming the template', () => {
    const mistral = new ChatTemplate(
      jinja('mistral-instruct-like.jinja'),
      { bos: '<s>', eos: '</s>' },
      'models/m/tokenizer_config.json',
    );
    expect(() => mistral.render([U('one'), U('two')])).toThrow(
      'models/m/tokenizer_config.json: Conversation roles must alternate user/assistant/user/assistant/...',
    );
    expect(() => new ChatTemplate('{% if %}', {}, 'x.jinja')).toThrow(/x.jinja: the chat template does not parse/);
  });
});

describe('prompts as messages', () => {
  it('an HH transcript: System first, Human and Assistant turns, the final empty Assistant dropped', () => {
    const hh = 'System: Be kind.\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: How are you?\n\nAssistant:';
    const messages = [S('Be kind.'), U('Hi'), A('Hello!'), U('How are you?')];
    expect(hhToMessages(hh)).toEqual(messages);
    expect(messagesToHh(messages)).toBe(hh);
    expect(hhToMessages('\n\nHuman: line one\n\nline two\n\nAssistant:')).toEqual([U('line one\n\nline two')]);
    expect(hhToMessages('\n\nHuman: q\n\nAssistant: partial')).toEqual([U('q'), A('partial')]);
    expect(() => hhToMessages('no tags')).toThrow(/not an HH transcript/);
    expect(() => hhToMessages('Preamble\n\nHuman: q\n\nAssistant:')).toThrow(/starts with "Preamble"/);
  });

  it("TRL's conversational rows, with text parts joined; bad items named", () => {
    expect(
      conversationToMessages([
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Yo' }] },
      ]),
    ).toEqual([U('Hi'), A('Yo')]);
    expect(() => conversationToMessages([{ role: 'user' }], 'prompt')).toThrow('prompt[0].content: expected a string');
    expect(() => conversationToMessages([{ content: 'x' }])).toThrow('messages[0].role: expected a string');
    expect(() => conversationToMessages('x')).toThrow('messages: expected a list of messages');
  });
});

function hf(tokenizerPath: string, config: Record<string, unknown>): HfTokenizer {
  return HfTokenizer.fromJson(readJson(tokenizerPath), config);
}

/** The text of the trained tokens, and of the untrained ones. */
function split(
  tok: TextTokenizer,
  ids: readonly number[],
  mask: readonly number[],
): { trained: string; untrained: string } {
  return {
    trained: tok.decode(ids.filter((_, i) => mask[i] === 1)),
    untrained: tok.decode(ids.filter((_, i) => mask[i] === 0)),
  };
}

const maskOf = (e: { ids: number[]; mask: number[] }): [number[], number[]] => [e.ids, e.mask];

describe('ids and the training mask of prompt + response', () => {
  const qwen3 = hf('tokenizers/qwen3.tokenizer.json.gz', readJson('tokenizers/qwen3.tokenizer_config.json'));
  const qwen25 = hf('tokenizers/qwen3.tokenizer.json.gz', {
    eos_token: '<|im_end|>',
    chat_template: jinja('qwen2.5-like.jinja'),
  });
  const llama3 = hf('tokenizers/llama3.tokenizer.json.gz', readJson('tokenizers/llama3.tokenizer_config.json'));
  const smol = hf('tokenizers/bytelevel-smollm.json', {
    bos_token: '<|im_start|>',
    eos_token: '<|im_end|>',
    chat_template: jinja('smollm2.jinja'),
  });
  const tinyllama = hf('tokenizers/mistral.tokenizer.json.gz', {
    bos_token: '<s>',
    eos_token: '</s>',
    chat_template: jinja('tinyllama.jinja'),
  });
  const hhPrompt =
    '\n\nHuman: What is 2+2?\n\nAssistant: Four?\n\nHuman: Say it as a digit, with 東京 😀.\n\nAssistant:';
  const reply = ' It is 4 — 東京 😀 ok.';

  const cases: [string, HfTokenizer, string][] = [
    ['Qwen2.5-style (ChatML, system prompt)', qwen25, '<|im_end|>'],
    ['SmolLM2-style (ChatML, small SmolLM-pipeline tokenizer)', smol, '<|im_end|>'],
    ['Llama 3', llama3, '<|eot_id|>'],
    ['TinyLlama-style (Zephyr on a SentencePiece tokenizer with byte fallback)', tinyllama, '</s>'],
  ];
  for (const [name, tok, endOfTurn] of cases) {
    it(`${name}: the mask covers exactly the response and ${endOfTurn}`, () => {
      const template = ChatTemplate.of(tok)!;
      const example = encodeExample(tok, hhPrompt, reply);
      expect(example.format).toBe('chat');
      const full = template.render([...hhToMessages(hhPrompt), A(reply.slice(1))]);
      expect(example.ids).toEqual(tok.encode(full));
      expect(example.mask).toHaveLength(example.ids.length);
      const { trained } = split(tok, example.ids, example.mask);
      expect(trained).toBe(`${reply.slice(1)}${endOfTurn}`);
      // The trained tokens are one run, and the prompt sampling continues from is what training conditions on.
      const ones = example.mask.flatMap((m, i) => (m === 1 ? [i] : []));
      expect(ones[ones.length - 1]! - ones[0]! + 1).toBe(ones.length);
      expect(example.sameContext).toBe(true);
      expect(example.ids.slice(0, example.prompt.ids.length)).toEqual(example.prompt.ids);
      expect(ones[0]).toBe(example.prompt.ids.length);
      expect(example.prompt).toEqual(encodePrompt(tok, hhPrompt));
      expect(example.prompt.text).toBe(template.render(hhToMessages(hhPrompt), { addGenerationPrompt: true }));
    });
  }

  it('Qwen3: the empty <think> block the template writes before a last reply is not trained, and not in the sampling context', () => {
    const example = encodeExample(qwen3, [U('What is 2+2?')], '4');
    const { trained, untrained } = split(qwen3, example.ids, example.mask);
    expect(trained).toBe('4<|im_end|>');
    expect(untrained).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n\n',
    );
    expect(example.sameContext).toBe(false);
    // With thinking off, the generation prompt holds the empty block too: the contexts agree again.
    const off = encodeExample(qwen3, [U('What is 2+2?')], '4', { variables: { enable_thinking: false } });
    expect(off.sameContext).toBe(true);
    expect(split(qwen3, off.ids, off.mask).trained).toBe('4<|im_end|>');
  });

  it('Llama 3 trims the reply; the mask still finds it, and the header the template appends after it is not trained', () => {
    const example = encodeExample(llama3, [U('Hi')], '  Hello there  ');
    expect(split(llama3, example.ids, example.mask).trained).toBe('Hello there<|eot_id|>');
    expect(llama3.decode(example.ids)).toMatch(/<\|eot_id\|><\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/);
  });

  it('finds a reply whose text the template also writes elsewhere ("think" in Qwen3, "assistant" in Llama 3)', () => {
    expect(split(qwen3, ...maskOf(encodeExample(qwen3, [U('Q')], 'think'))).trained).toBe('think<|im_end|>');
    expect(split(llama3, ...maskOf(encodeExample(llama3, [U('Q')], 'assistant'))).trained).toBe('assistant<|eot_id|>');
    expect(split(qwen25, ...maskOf(encodeExample(qwen25, [U('Q')], ''))).trained).toBe('<|im_end|>');
  });

  it('a template that closes no turn gets EOS appended after the reply, trained', () => {
    const bare = new ChatTemplate('{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}', {});
    const example = encodeExample(qwen25, [U('Hi')], ' Hello', { template: bare });
    // "assistant: Hello" encodes " Hello" as one token, which straddles the reply's start: it is trained.
    expect(split(qwen25, example.ids, example.mask).trained).toBe(' Hello<|im_end|>');
    expect(example.ids[example.ids.length - 2]).toBe(qwen25.eosTokenId);
  });

  it("raw: the HH text (with the tokenizer's BOS), the reply's special tokens as plain text, and EOS", () => {
    const example = encodeExample(tinyllama, hhPrompt, ' Hi <|im_end|></s>', { format: 'raw' });
    expect(example.prompt.ids[0]).toBe(1);
    expect(example.prompt.ids.slice(1)).toEqual(tinyllama.encode(hhPrompt));
    const { trained } = split(tinyllama, example.ids, example.mask);
    expect(trained).toBe(' Hi <|im_end|></s></s>');
    expect(example.ids.filter((id) => id === 2)).toHaveLength(1);
    expect(encodePrompt(qwen25, [U('Hi')], { format: 'raw' }).text).toBe('\n\nHuman: Hi\n\nAssistant:');
  });

  it('the default format is chat where the model has a template, raw where it has none', () => {
    expect(defaultFormat(qwen3)).toBe('chat');
    const gpt2Style = Tokenizer.train(['the cat sat on the mat, the end'], { vocabSize: 270 });
    expect(defaultFormat(gpt2Style)).toBe('raw');
    expect(encodePrompt(gpt2Style, '\n\nHuman: the cat\n\nAssistant:').ids).toEqual(
      gpt2Style.encode('\n\nHuman: the cat\n\nAssistant:'),
    );
    expect(() => encodePrompt(gpt2Style, [U('x')], { format: 'chat' })).toThrow(/needs a chat template/);
    const raw = encodeExample(gpt2Style, '\n\nHuman: the cat\n\nAssistant:', ' sat');
    expect(raw.format).toBe('raw');
    expect(raw.ids[raw.ids.length - 1]).toBe(gpt2Style.eosTokenId);
  });
});
