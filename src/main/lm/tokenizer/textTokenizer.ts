/**
 * What the studio asks of a tokenizer, whichever implementation runs: our byte-level BPE
 * (GPT-2's files and the tokenizers `model new` trains, tokenizer.ts) or Hugging Face's Tokenizers.js
 * for Llama-family tokenizer.json files (hfTokenizer.ts). load.ts picks one by what the file declares.
 *
 *   const tok = await Tokenizer.load(dir);
 *   tok.encode('<|im_start|>user\nHi<|im_end|>')              // specials matched: [151644, 872, 198, 13048, 151645]
 *   tok.encode(userText, { allowedSpecial: 'none' })           // "<|im_end|>" in data is plain text
 *   tok.encode('Hi', { addSpecialTokens: true })              // Llama 2 / TinyLlama: [1, ...] (BOS)
 *   tok.decode(ids); tok.eosTokenId; tok.chatTemplate; await tok.save(otherDir)
 */

/** Which special tokens encode matches as such: all ('all', the default), none, or the named ones. */
export type AllowedSpecial = 'all' | 'none' | ReadonlySet<string>;

export interface EncodeOptions {
  allowedSpecial?: AllowedSpecial;
  /**
   * Run the tokenizer's post-processor, as Hugging Face's encode(add_special_tokens=True) does: a BOS
   * for Llama 2, TinyLlama and Llama 3.1+, nothing for GPT-2, SmolLM or Qwen. Default false, which is
   * what a chat template's text needs (the template writes its own BOS).
   */
  addSpecialTokens?: boolean;
}

/** The special tokens a tokenizer_config.json names (bos_token, eos_token, ...), as text. */
export interface SpecialTokenNames {
  bos?: string;
  eos?: string;
  unk?: string;
  pad?: string;
}

export interface TextTokenizer {
  /** 'bpe': ours (tokenizer.ts); 'huggingface': Tokenizers.js (hfTokenizer.ts). */
  readonly kind: 'bpe' | 'huggingface';
  /** Highest id + 1: the rows a model's embedding needs at least. */
  readonly vocabSize: number;
  /** The end-of-sequence id: tokenizer_config.json's eos_token, else <|endoftext|> when the vocabulary has it. */
  readonly eosTokenId: number | undefined;
  /** tokenizer_config.json's bos_token's id, when it names one. */
  readonly bosTokenId: number | undefined;
  readonly specialTokens: Readonly<SpecialTokenNames>;
  /** tokenizer_config.json's chat_template, or chat_template.jinja beside it; undefined when the model has none. */
  readonly chatTemplate: string | undefined;
  /** The id of a vocabulary token ('Ġthe', '▁the') or an added token's content. */
  tokenId(token: string): number | undefined;
  encode(text: string, options?: EncodeOptions): number[];
  /** The text of ids, special tokens included; throws a RangeError on an id no token has. */
  decode(ids: readonly number[]): string;
  /** One line for the Models screen: "byte-level BPE, 50257 tokens". */
  describe(): string;
  /** The tokenizer.json this tokenizer writes (ours) or was read from (Hugging Face's, as imported). */
  toHuggingFaceJson(): object;
  /** Writes the tokenizer's files into dir (tokenizer.json, and tokenizer_config.json where there is one). */
  save(dir: string): Promise<void>;
}
