/**
 * Chat templates: a model's `chat_template` (tokenizer_config.json, or chat_template.jinja) rendered
 * by Hugging Face's Jinja (@huggingface/jinja) as transformers' apply_chat_template renders it, the
 * studio's prompts turned into messages, and token ids for sampling and training with a mask that
 * trains only the response.
 *
 *   const template = ChatTemplate.of(tokenizer);                 // undefined: the model has none
 *   template.render([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })
 *   // '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
 *   hhToMessages('\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:')
 *   // [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Bye' }]
 *   encodePrompt(tokenizer, hhPrompt)                 // { format: 'chat', text, ids }: what sampling continues
 *   encodeExample(tokenizer, hhPrompt, ' Hello.')     // { ids, mask, ... }: mask 1 on "Hello." and <|im_end|> only
 *
 * Format: 'chat' renders the template; 'raw' is the studio's HH text as it is (with the BOS the
 * tokenizer adds, for Llama 2 / TinyLlama), the only choice for a model without a template
 * (GPT-2, and the models `model new` makes). The default is 'chat' where the model has a template.
 */
import { Environment, Template } from '@huggingface/jinja';
import type { TextTokenizer } from './tokenizer/textTokenizer';

export type PromptFormat = 'chat' | 'raw';

/** A chat message as transformers and TRL write it. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** The conversation the studio stores as HH text: a prompt (ending with a user turn) and one reply. */
export type Prompt = string | readonly ChatMessage[];

const HUMAN_TAG = '\n\nHuman:';
const ASSISTANT_TAG = '\n\nAssistant:';
const SYSTEM_TAG = 'System:';

interface RuntimeString {
  value: string;
  readonly builtins: Map<string, unknown>;
}
type FunctionValueClass = new (fn: (args: readonly { value?: unknown }[]) => unknown) => unknown;
type StringValueClass = new (value: string) => unknown;

function stripChars(text: string, chars: string, left: boolean, right: boolean): string {
  let start = 0;
  let end = text.length;
  if (left) while (start < end && chars.includes(text[start]!)) start++;
  if (right) while (end > start && chars.includes(text[end - 1]!)) end--;
  return text.slice(start, end);
}

let stripPatched = false;
/**
 * Python's str.strip, lstrip and rstrip with a chars argument: @huggingface/jinja 0.5.13 ignores the
 * argument and strips whitespace, so Qwen3's template (`content.lstrip('\n')`) would also eat the
 * spaces a reply starts with, unlike transformers. Its string methods are a lazily built map behind
 * StringValue.prototype's `builtins` getter; this wraps that getter once to replace the three.
 * A later version of the library shaped otherwise is left as it is (the tests would show it).
 */
function patchStripWithChars(): void {
  if (stripPatched) return;
  stripPatched = true;
  const sample = new Environment().set('s', '') as unknown as RuntimeString;
  const proto = Object.getPrototypeOf(sample) as object;
  const getter = Object.getOwnPropertyDescriptor(proto, 'builtins')?.get;
  const upper = sample.builtins.get('upper');
  if (getter === undefined || typeof upper !== 'object' || upper === null) return;
  const FunctionValue = upper.constructor as FunctionValueClass;
  const StringValue = sample.constructor as StringValueClass;
  const patched = new WeakSet<Map<string, unknown>>();
  Object.defineProperty(proto, 'builtins', {
    configurable: true,
    get(this: RuntimeString) {
      const map = getter.call(this) as Map<string, unknown>;
      if (!patched.has(map)) {
        patched.add(map);
        const value = () => this.value;
        const strip = (left: boolean, right: boolean) =>
          new FunctionValue((args) => {
            const chars = args[0]?.value;
            if (typeof chars === 'string') return new StringValue(stripChars(value(), chars, left, right));
            return new StringValue(left && right ? value().trim() : left ? value().trimStart() : value().trimEnd());
          });
        map.set('strip', strip(true, true));
        map.set('lstrip', strip(true, false));
        map.set('rstrip', strip(false, true));
      }
      return map;
    },
  });
}

/** A chat template's own error (raise_exception), or one rendering it; names the template's source. */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface RenderOptions {
  /** Append the assistant header the model continues from (add_generation_prompt). */
  addGenerationPrompt?: boolean;
  /** Further variables the template reads, such as Qwen3's enable_thinking. */
  variables?: Readonly<Record<string, unknown>>;
}

export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source the Jinja text
   * @param specialTokens bos_token, eos_token, unk_token, pad_token as the template sees them
   * @param origin names the template in errors ("models/qwen/tokenizer_config.json")
   */
  constructor(
    readonly source: string,
    private readonly specialTokens: Readonly<{ bos?: string; eos?: string; unk?: string; pad?: string }> = {},
    private readonly origin = 'chat_template',
  ) {
    patchStripWithChars();
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new ChatTemplateError(`${origin}: the chat template does not parse: ${message(error)}`, { cause: error });
    }
  }

  /** The tokenizer's template (tokenizer_config.json's chat_template, or chat_template.jinja), if it has one. */
  static of(tokenizer: TextTokenizer, origin?: string): ChatTemplate | undefined {
    return tokenizer.chatTemplate === undefined
      ? undefined
      : new ChatTemplate(tokenizer.chatTemplate, tokenizer.specialTokens, origin);
  }

  /**
   * The text of `messages`, as apply_chat_template(messages, tokenize=False, add_generation_prompt)
   * gives it: the special tokens' text as variables (bos_token, eos_token, unk_token, pad_token),
   * raise_exception and strftime_now as functions.
   */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    const { bos, eos, unk, pad } = this.specialTokens;
    const tokens: Record<string, string> = {};
    if (bos !== undefined) tokens.bos_token = bos;
    if (eos !== undefined) tokens.eos_token = eos;
    if (unk !== undefined) tokens.unk_token = unk;
    if (pad !== undefined) tokens.pad_token = pad;
    try {
      return this.template.render({
        ...tokens,
        ...options.variables,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: options.addGenerationPrompt ?? false,
      });
    } catch (error) {
      throw new ChatTemplateError(`${this.origin}: ${message(error)}`, { cause: error });
    }
  }
}

/** 'chat' where the tokenizer has a chat template, else 'raw'. */
export function defaultFormat(tokenizer: TextTokenizer): PromptFormat {
  return tokenizer.chatTemplate === undefined ? 'raw' : 'chat';
}

/**
 * The messages of an HH-style transcript: an optional leading "System: ..." (as the studio's
 * importer writes TRL's system messages), then "\n\nHuman: ..." and "\n\nAssistant: ..." turns, each
 * content without the one space after its tag. A final empty "\n\nAssistant:" (a prompt's end) is
 * dropped: it is the generation prompt. Text before the first tag that is not "System: ..." is
 * refused, as are empty transcripts.
 */
export function hhToMessages(transcript: string): ChatMessage[] {
  const tag = /\n\nHuman:|\n\nAssistant:/g;
  const found = [...transcript.matchAll(tag)];
  if (found.length === 0)
    throw new Error(
      `not an HH transcript: no "\\n\\nHuman:" or "\\n\\nAssistant:" in ${JSON.stringify(transcript.slice(0, 60))}`,
    );
  const messages: ChatMessage[] = [];
  const head = transcript.slice(0, found[0]!.index);
  if (head.startsWith(SYSTEM_TAG))
    messages.push({ role: 'system', content: stripOneSpace(head.slice(SYSTEM_TAG.length)) });
  else if (head.trim() !== '')
    throw new Error(`not an HH transcript: it starts with ${JSON.stringify(head.slice(0, 60))} before its first turn`);
  found.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = i + 1 < found.length ? found[i + 1]!.index : transcript.length;
    const content = stripOneSpace(transcript.slice(start, end));
    const role = m[0] === HUMAN_TAG ? 'user' : 'assistant';
    const last = i === found.length - 1;
    if (last && role === 'assistant' && content === '') return;
    messages.push({ role, content });
  });
  return messages;
}

function stripOneSpace(text: string): string {
  return text.startsWith(' ') ? text.slice(1) : text;
}

/** The HH text of messages (the studio's raw form): "System: ..." first, then the turns, ending "\n\nAssistant:". */
export function messagesToHh(messages: readonly ChatMessage[]): string {
  let text = '';
  for (const m of messages) {
    if (m.role === 'system') text += `${text === '' ? '' : '\n\n'}${SYSTEM_TAG} ${m.content}`;
    else text += `${m.role === 'assistant' ? ASSISTANT_TAG : HUMAN_TAG} ${m.content}`;
  }
  return text + ASSISTANT_TAG;
}

/**
 * TRL's conversational rows as messages: a list of { role, content } with string role and content
 * (content lists of typed parts keep their text parts). Throws naming the bad item.
 */
export function conversationToMessages(rows: unknown, field = 'messages'): ChatMessage[] {
  if (!Array.isArray(rows)) throw new Error(`${field}: expected a list of messages`);
  return rows.map((row: unknown, i) => {
    const where = `${field}[${i}]`;
    if (typeof row !== 'object' || row === null) throw new Error(`${where}: expected {"role", "content"}`);
    const { role, content } = row as Record<string, unknown>;
    if (typeof role !== 'string' || role === '') throw new Error(`${where}.role: expected a string`);
    if (typeof content === 'string') return { role, content };
    if (Array.isArray(content)) {
      const texts = content.map((part: unknown, j) => {
        const p = part as Record<string, unknown> | null;
        if (p !== null && typeof p === 'object' && p.type === 'text' && typeof p.text === 'string') return p.text;
        throw new Error(`${where}.content[${j}]: only {"type": "text", "text": ...} parts are supported`);
      });
      return { role, content: texts.join('') };
    }
    throw new Error(`${where}.content: expected a string`);
  });
}

export interface ChatEncodeOptions {
  /** Default: defaultFormat(tokenizer). 'chat' needs a template. */
  format?: PromptFormat;
  /** Default: ChatTemplate.of(tokenizer). */
  template?: ChatTemplate;
  /** Further variables for the template (Qwen3: { enable_thinking: false }). */
  variables?: Readonly<Record<string, unknown>>;
}

export interface EncodedPrompt {
  format: PromptFormat;
  /** The text the ids encode (the rendered template, or the HH text). */
  text: string;
  /** What sampling continues: the prompt with the generation prompt (chat) or BOS + HH text (raw). */
  ids: number[];
}

export interface EncodedExample {
  format: PromptFormat;
  /** The prompt as sampling sees it. */
  prompt: EncodedPrompt;
  /** Prompt and response: the rendered conversation (chat), or the prompt's ids, the response's and EOS (raw). */
  ids: number[];
  /** 1 where a token is trained (the response and the end-of-turn token after it), 0 on the prompt and the template's text. */
  mask: number[];
  /**
   * Whether the tokens before the first trained one are exactly prompt.ids, so that training scores
   * the response in the context sampling gives it. False where a template writes more before a last
   * reply than its generation prompt (Qwen3's empty <think> block, unless enable_thinking is false).
   */
  sameContext: boolean;
}

function resolve(
  tokenizer: TextTokenizer,
  options: ChatEncodeOptions,
): { format: PromptFormat; template?: ChatTemplate } {
  const format = options.format ?? defaultFormat(tokenizer);
  if (format === 'raw') return { format };
  const template = options.template ?? ChatTemplate.of(tokenizer);
  if (template === undefined)
    throw new Error('format "chat" needs a chat template, and this model has none: use format "raw"');
  return { format, template };
}

function toMessages(prompt: Prompt): ChatMessage[] {
  return typeof prompt === 'string' ? hhToMessages(prompt) : [...prompt];
}

/**
 * A prompt as sampling is given it: an HH transcript as its turns, and any other text (a prompt
 * typed on the command line) as one user message.
 */
export function promptMessages(text: string): ChatMessage[] {
  return /\n\n(Human|Assistant):/.test(text) ? hhToMessages(text) : [{ role: 'user', content: text }];
}

/** The ids the tokenizer puts before a text (Llama 2's and TinyLlama's BOS), none for GPT-2, Qwen or SmolLM. */
function leadingSpecialIds(tokenizer: TextTokenizer): number[] {
  const plain = tokenizer.encode('a');
  const withSpecials = tokenizer.encode('a', { addSpecialTokens: true });
  for (let start = 0; start + plain.length <= withSpecials.length; start++) {
    if (plain.every((id, i) => withSpecials[start + i] === id)) return withSpecials.slice(0, start);
  }
  return [];
}

/** The prompt's ids for sampling: the template with its generation prompt, or the HH text. */
export function encodePrompt(tokenizer: TextTokenizer, prompt: Prompt, options: ChatEncodeOptions = {}): EncodedPrompt {
  const { format, template } = resolve(tokenizer, options);
  if (format === 'raw') {
    const text = typeof prompt === 'string' ? prompt : messagesToHh(prompt);
    return { format, text, ids: [...leadingSpecialIds(tokenizer), ...tokenizer.encode(text)] };
  }
  const text = template!.render(toMessages(prompt), { addGenerationPrompt: true, variables: options.variables });
  return { format, text, ids: tokenizer.encode(text) };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function commonTextPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** A token id that is a special token: its text does not encode back to it when specials are plain text. */
function isSpecial(tokenizer: TextTokenizer, id: number): boolean {
  const text = tokenizer.decode([id]);
  const asSpecial = tokenizer.encode(text);
  if (asSpecial.length !== 1 || asSpecial[0] !== id) return false;
  const asText = tokenizer.encode(text, { allowedSpecial: 'none' });
  return asText.length !== 1 || asText[0] !== id;
}

/** Stands for the reply in a second render, to find what of the text the template wrote around it. */
const REPLY_PLACEHOLDER = '\uE000reply\uE001';

/**
 * Where the reply is in a rendered conversation: between the text the template writes before and
 * after a placeholder reply (so a template that trims it, as Llama 3's does, is followed), else
 * the reply's text itself, searched after what the rendered prompt shares with the conversation.
 */
function replySpan(text: string, reply: string, withPlaceholder: string, promptText: string): [number, number] {
  const at = withPlaceholder.indexOf(REPLY_PLACEHOLDER);
  if (at !== -1) {
    const before = withPlaceholder.slice(0, at);
    const after = withPlaceholder.slice(at + REPLY_PLACEHOLDER.length);
    if (text.length >= before.length + after.length && text.startsWith(before) && text.endsWith(after)) {
      return [before.length, text.length - after.length];
    }
  }
  const from = commonTextPrefix(promptText, text);
  for (const written of [reply, reply.trim()]) {
    const start = text.indexOf(written, from);
    if (start !== -1) return [start, start + written.length];
  }
  throw new ChatTemplateError('the chat template does not write the response as it is, so its tokens cannot be found');
}

/**
 * Prompt + response as training sees them, with the mask that trains only the response.
 *
 * chat: the conversation with the response as its last assistant message is rendered and encoded
 * whole (as apply_chat_template does); the mask covers the tokens of the response's text and the
 * special token that closes its turn (<|im_end|>, <|eot_id|>, </s>). A template that writes no
 * special token after the reply gets the tokenizer's EOS appended there, trained, so the model learns
 * to stop. raw: the prompt's ids, the response's (its special-token text read as plain text) and EOS,
 * as the studio encodes GPT-2 examples.
 *
 * `response` is a reply as the studio stores it (" Hello.", the space after "Assistant:" included) or
 * plain text; one leading space is dropped for the chat format.
 */
export function encodeExample(
  tokenizer: TextTokenizer,
  prompt: Prompt,
  response: string,
  options: ChatEncodeOptions = {},
): EncodedExample {
  const { format, template } = resolve(tokenizer, options);
  const encodedPrompt = encodePrompt(tokenizer, prompt, { ...options, format, template });
  const eos = tokenizer.eosTokenId;
  if (format === 'raw') {
    const responseIds = tokenizer.encode(response, { allowedSpecial: 'none' });
    if (eos === undefined) throw new Error('format "raw" ends a response with EOS, and this tokenizer has none');
    const ids = [...encodedPrompt.ids, ...responseIds, eos];
    const mask = ids.map((_, i) => (i >= encodedPrompt.ids.length ? 1 : 0));
    return { format, prompt: encodedPrompt, ids, mask, sameContext: true };
  }

  const content = stripOneSpace(response);
  const render = (reply: string) =>
    template!.render([...toMessages(prompt), { role: 'assistant', content: reply }], {
      addGenerationPrompt: false,
      variables: options.variables,
    });
  const text = render(content);
  const [start, end] = replySpan(text, content, render(REPLY_PLACEHOLDER), encodedPrompt.text);

  const ids = tokenizer.encode(text);
  // Tokens that straddle the reply's start or end (a merge across it) count as the reply's.
  const first = commonPrefix(tokenizer.encode(text.slice(0, start)), ids);
  const throughReply = tokenizer.encode(text.slice(0, end));
  let last = commonPrefix(throughReply, ids);
  if (last < ids.length && throughReply.length > last) last++;
  if (last < ids.length && isSpecial(tokenizer, ids[last]!)) last++;
  else if (eos !== undefined) ids.splice(last++, 0, eos);
  const mask = ids.map((_, i) => (i >= first && i < last ? 1 : 0));
  const sameContext = first === encodedPrompt.ids.length && commonPrefix(encodedPrompt.ids, ids) === first;
  return { format, prompt: encodedPrompt, ids, mask, sameContext };
}

/**
 * The ids a reply in a format ends at, for sampling: the model's own end ids; for 'chat' also the
 * tokenizer's EOS and the token the template closes an assistant turn with (what encodeExample
 * trains after a reply: <|im_end|>, <|eot_id|>, </s>), which a model's config does not always list
 * (base Llama 3 names only <|end_of_text|>, Qwen only <|endoftext|>).
 */
export function stopIds(tokenizer: TextTokenizer, format: PromptFormat, modelEnds: readonly number[]): number[] {
  if (format === 'raw') return [...modelEnds];
  const ids = new Set(modelEnds);
  if (tokenizer.eosTokenId !== undefined) ids.add(tokenizer.eosTokenId);
  const { ids: example, mask } = encodeExample(tokenizer, [{ role: 'user', content: 'Hi' }], 'Hello.', { format });
  ids.add(example[mask.lastIndexOf(1)]!);
  return [...ids];
}

/**
 * The ids sampling continues for a prompt text: 'raw' encodes the text as it is (as the studio
 * always has, no BOS added, so a raw sample matches a raw training run's context); 'chat' renders
 * it through the template with the generation prompt (promptMessages: HH turns, or one user turn).
 */
export function samplingIds(tokenizer: TextTokenizer, text: string, format: PromptFormat): number[] {
  return format === 'raw' ? tokenizer.encode(text) : encodePrompt(tokenizer, promptMessages(text), { format }).ids;
}
