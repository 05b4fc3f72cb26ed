/**
 * Loading a model folder's tokenizer, picking the implementation by what tokenizer.json declares:
 * GPT-2's pipeline (a ByteLevel pre-tokenizer with GPT-2's own regex, no normalizer, no byte fallback)
 * goes to our BPE (tokenizer.ts), exact to GPT-2 and the one `model new` trains; anything else (a
 * Split regex, Digits, Metaspace, a normalizer, byte fallback, a template post-processor, added
 * tokens that strip spaces) goes to Hugging Face's Tokenizers.js (hfTokenizer.ts).
 *
 *   await loadTokenizer('models/gpt2')         // BpeTokenizer (tokenizer.json, or vocab.json + merges.txt)
 *   await loadTokenizer('models/SmolLM2-135M') // HfTokenizer, with tokenizer_config.json's tokens and chat template
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HfTokenizer } from './hfTokenizer';
import type { TextTokenizer } from './textTokenizer';
import { BpeTokenizer, readJson } from './tokenizer';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isAbsent = (value: unknown) => value === undefined || value === null;
const isByteLevel = (part: unknown) => isAbsent(part) || (isObject(part) && part.type === 'ByteLevel');

/**
 * True when a tokenizer.json declares GPT-2's pipeline, which our BPE runs (and checks strictly,
 * naming what it refuses); false for the Llama-family pipelines that Tokenizers.js runs.
 */
export function declaresGpt2Pipeline(json: unknown): boolean {
  if (!isObject(json) || !isObject(json.model)) return true; // our parser names what is wrong
  const model = json.model;
  const pre = json.pre_tokenizer;
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  return (
    (model.type === 'BPE' || model.type === undefined) &&
    model.byte_fallback !== true &&
    isAbsent(json.normalizer) &&
    isObject(pre) &&
    pre.type === 'ByteLevel' &&
    pre.use_regex !== false &&
    isByteLevel(json.post_processor) &&
    isByteLevel(json.decoder) &&
    !added.some((t) => isObject(t) && (t.lstrip === true || t.rstrip === true || t.single_word === true))
  );
}

/**
 * True when tokenizer_config.json (parsed) asks for nothing our BPE would leave out: no chat template
 * and no end-of-sequence token other than <|endoftext|>, as GPT-2's own says.
 */
function configIsGpt2s(config: unknown): boolean {
  if (!isObject(config)) return true;
  const eos = isObject(config.eos_token) ? config.eos_token.content : config.eos_token;
  return isAbsent(config.chat_template) && (isAbsent(eos) || eos === '<|endoftext|>');
}

/**
 * tokenizer.json (with tokenizer_config.json and chat_template.jinja beside it), else GPT-2's
 * vocab.json + merges.txt. GPT-2's pipeline with a chat template or another EOS (a fine-tune that
 * speaks ChatML) goes to Tokenizers.js too, which reads those.
 */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) return BpeTokenizer.load(dir);
  const json = await readJson(path);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? await readJson(configPath) : {};
  const templatePath = join(dir, 'chat_template.jinja');
  const chatTemplateFile = existsSync(templatePath) ? await readFile(templatePath, 'utf8') : undefined;
  if (declaresGpt2Pipeline(json) && chatTemplateFile === undefined && configIsGpt2s(config)) {
    return BpeTokenizer.fromHuggingFaceJson(json, path);
  }
  return HfTokenizer.fromJson(json, config, { source: path, chatTemplateFile });
}
