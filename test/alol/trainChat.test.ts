/**
 * The chat prompt format through the backend's jobs, on a tiny Llama-family model with Meta's Llama
 * 3 tokenizer and its real chat template (test/helpers/chatLlama.ts): a run defaults to chat, its
 * examples train exactly the reply's tokens and <|eot_id|> (the template's own tokens are context),
 * A-LoL's value head and advantages run on templated prompts, the format is stored with the run,
 * 'chat' on a model without a template is refused, and sampling renders the template, stops at
 * <|eot_id|> (which the model's config does not list) and records the format with every sample.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { encodeExample, encodeFormatted } from '../../src/main/lm/batch';
import { encodeSequence, readRewardModelInfo } from '../../src/main/rewards/rewardModel';
import { encodePrompt } from '../../src/main/lm/chatTemplate';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { Tokenizer } from '../../src/main/lm/tokenizer/index';
import { AppError, type Input, type RunSummary } from '../../src/shared/contract';
import { call, importPath, jobEnd, jobOf, useBackends } from '../helpers/backend';
import {
  chatLlamaConfig,
  DOUBLE_NEWLINE,
  END_OF_TEXT,
  EOT,
  LLAMA3_TOKENIZER,
  writeChatLlama,
} from '../helpers/chatLlama';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const openBackend = useBackends();

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await Tokenizer.load(LLAMA3_TOKENIZER);
});

async function importModel(backend: Backend, name: string, options: Parameters<typeof writeChatLlama>[1] = {}) {
  const dir = join(tempDir(), `hf-${name}`);
  writeChatLlama(dir, options);
  const job = await jobOf(backend, () => call(backend, 'models.import', { path: dir, name }));
  expect(job.error).toBeNull();
  expect(job.status).toBe('succeeded');
}

async function runToEnd(backend: Backend, config: Input<'runs.start'>): Promise<RunSummary> {
  const { runId, jobId } = await call(backend, 'runs.start', config);
  await jobEnd(backend, jobId);
  return call(backend, 'runs.get', { runId });
}

function weightsOf(backend: Backend, model: string): Map<string, { shape: number[]; data: Float32Array }> {
  const folder = backend.db.prepare('SELECT folder FROM models WHERE name = ?').pluck().get(model) as string;
  return readSafetensors(join(backend.paths.models, folder, 'model.safetensors')).tensors;
}

const prompt = '\n\nHuman: What is 2 plus 3?\n\nAssistant:';
/** Runs and samples are job processes, on 2 shared cores. */
const SLOW = 240_000;

describe('the chat prompt format', () => {
  it('trains exactly the reply and <|eot_id|>, with the prompt in the template as sampling renders it', () => {
    const e = encodeFormatted(tokenizer, END_OF_TEXT, 128, prompt, ' 2 plus 3 is 5.', 'chat');
    // The trained tokens: the reply's own and the end of the turn, nothing of the template.
    expect(e.response).toEqual([...tokenizer.encode('2 plus 3 is 5.'), EOT]);
    // The context: the rendered prompt with its generation prompt, the ids sampling continues.
    expect(e.prompt).toEqual(encodePrompt(tokenizer, prompt, { format: 'chat' }).ids);
    expect(tokenizer.decode(e.prompt)).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 plus 3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    // raw is the studio's encoding as it always was: the HH text, the reply and EOS.
    expect(encodeFormatted(tokenizer, END_OF_TEXT, 128, prompt, ' 5', 'raw')).toEqual(
      encodeExample(tokenizer, END_OF_TEXT, 128, prompt, ' 5'),
    );
  });

  it(
    'is a run default where the model has a template, stored with the run, and trains nll and A-LoL through it',
    async () => {
      const backend = openBackend(tempDir());
      await call(backend, 'datasets.demo', { name: 'demo', seed: 3, trainPrompts: 12 });
      await importModel(backend, 'chatty');
      expect((await call(backend, 'models.get', { model: 'chatty' })).chatTemplate).toBe(true);
      const base = { data: 'demo', init: 'chatty', steps: 2, batch: 2, seed: 5, lr: 1e-2 } as const;

      const nll = await runToEnd(backend, { ...base, algo: 'nll', out: 'sft' });
      expect(nll.error).toBeNull();
      expect(nll).toMatchObject({ status: 'succeeded', config: { format: 'chat' }, summary: { format: 'chat' } });
      const [start, trained] = [weightsOf(backend, 'chatty'), weightsOf(backend, 'sft')];
      expect(trained.get('lm_head.weight')!.data).not.toEqual(start.get('lm_head.weight')!.data);

      // A-LoL with the demo reward: the value head's targets are the reference's decodes of templated prompts.
      const alol = await runToEnd(backend, {
        ...base,
        algo: 'a_lol',
        out: 'aligned',
        reward: 'demo',
        valueEpochs: 1,
        maxNewTokens: 3,
        format: 'chat',
      });
      expect(alol.error).toBeNull();
      expect(alol).toMatchObject({ status: 'succeeded', config: { format: 'chat' }, summary: { format: 'chat' } });

      // raw on the same model is a choice, stored as such.
      const raw = await runToEnd(backend, { ...base, algo: 'nll', out: 'sft-raw', format: 'raw' });
      expect(raw).toMatchObject({ status: 'succeeded', config: { format: 'raw' }, summary: { format: 'raw' } });
    },
    SLOW,
  );

  it(
    "refuses 'chat' for a model without a chat template, and defaults such a model to raw",
    async () => {
      const backend = openBackend(tempDir());
      await call(backend, 'datasets.demo', { name: 'demo', seed: 3, trainPrompts: 12 });
      const created = await jobOf(backend, () =>
        call(backend, 'models.create', {
          name: 'plain',
          dataset: 'demo',
          layers: 1,
          dim: 16,
          heads: 2,
          context: 64,
          vocab: 300,
          seed: 1,
        }),
      );
      expect(created.status).toBe('succeeded');
      const run = { algo: 'nll', data: 'demo', init: 'plain', out: 'x', steps: 1, batch: 2 } as const;
      const refused = await call(backend, 'runs.start', { ...run, format: 'chat' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect((refused as AppError).message).toBe(
        'format "chat" needs a chat template, and model "plain" has none (no chat_template in its tokenizer_config.json): use format "raw"',
      );
      expect(await call(backend, 'runs.list', {})).toEqual([]);
      expect(await runToEnd(backend, run)).toMatchObject({ status: 'succeeded', config: { format: 'raw' } });
      const sampled = await jobOf(backend, () =>
        call(backend, 'samples.create', { model: 'plain', prompts: { texts: [prompt] }, format: 'chat' }),
      );
      expect(sampled.status).toBe('failed');
      expect(sampled.error?.message).toMatch(/format "chat" needs a chat template, and model "plain" has none/);
    },
    SLOW,
  );

  it(
    'samples through the template, stops at <|eot_id|>, and records the format with every sample',
    async () => {
      const backend = openBackend(tempDir());
      const word = tokenizer.encode(' Five')[0]!;
      await importModel(backend, 'scripted', { scripted: { word } });
      const settings = { maxNewTokens: 6 };

      // Default: chat, as the model has a template. The reply is the scripted word, then <|eot_id|> ends it.
      const chat = await jobOf(backend, () =>
        call(backend, 'samples.create', { model: 'scripted', prompts: { texts: [prompt] }, settings }),
      );
      expect(chat.result).toMatchObject({ format: 'chat', count: 1 });
      const source = (chat.result as { source: string }).source;
      const [sample] = (await call(backend, 'samples.list', { source })).rows;
      expect(sample).toMatchObject({ format: 'chat', finishReason: 'eos', response: ' Five' });
      // The end came from the template: the model's own end ids are <|end_of_text|> only.
      const folder = backend.db.prepare('SELECT folder FROM models WHERE name = ?').pluck().get('scripted') as string;
      const stored = JSON.parse(readFileSync(join(backend.paths.models, folder, 'config.json'), 'utf8')) as {
        eos_token_id: unknown;
      };
      expect(stored.eos_token_id).toEqual(END_OF_TEXT);
      expect(tokenizer.encode('\n\n')).toEqual([DOUBLE_NEWLINE]);

      // raw: the HH text as it is ends with ":", after which the model never ends its reply.
      const raw = await jobOf(backend, () =>
        call(backend, 'samples.create', { model: 'scripted', prompts: { texts: [prompt] }, settings, format: 'raw' }),
      );
      expect(raw.result).toMatchObject({ format: 'raw' });
      const [rawSample] = (await call(backend, 'samples.list', { source: (raw.result as { source: string }).source }))
        .rows;
      expect(rawSample).toMatchObject({ format: 'raw', finishReason: 'length' });

      // generate gives the text as it is unless asked for chat.
      const generated = await jobOf(backend, () =>
        call(backend, 'models.generate', { model: 'scripted', prompts: ['Hi'], settings, format: 'chat' }),
      );
      expect(generated.result).toMatchObject({
        format: 'chat',
        generations: [{ response: ' Five', finishReason: 'eos', ids: [word] }],
      });
    },
    SLOW,
  );

  it(
    'trains DPO pairs and a reward model through the template, and the reward model scores through it',
    async () => {
      const backend = openBackend(tempDir());
      await importModel(backend, 'chatty');
      const file = join(tempDir(), 'prefs.jsonl');
      const pairs = Array.from({ length: 6 }, (_, i) =>
        JSON.stringify({
          prompt: `\n\nHuman: question ${i}?\n\nAssistant:`,
          chosen: ` Yes, ${i}.`,
          rejected: ` No.`,
          split: 'train',
        }),
      );
      writeFileSync(file, `${pairs.join('\n')}\n`);
      expect((await importPath(backend, file, 'prefs')).status).toBe('succeeded');

      const dpo = await runToEnd(backend, {
        algo: 'dpo',
        data: 'prefs',
        init: 'chatty',
        out: 'dpo',
        steps: 2,
        batch: 2,
      });
      expect(dpo.error).toBeNull();
      expect(dpo).toMatchObject({ status: 'succeeded', config: { format: 'chat' }, summary: { format: 'chat' } });

      // The reward model reads the conversation as the template writes it, up to the reply's <|eot_id|>.
      const sequence = encodeSequence(
        tokenizer,
        { config: chatLlamaConfig() },
        JSON.parse(pairs[0]!).prompt,
        ' Yes, 0.',
        'chat',
      );
      expect(tokenizer.decode(sequence)).toBe(
        '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nquestion 0?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYes, 0.<|eot_id|>',
      );
      const trained = await jobOf(backend, () =>
        call(backend, 'rewards.trainModel', { dataset: 'prefs', name: 'rm', base: 'chatty', epochs: 2, heldOut: 0.3 }),
      );
      expect(trained.error).toBeNull();
      expect(trained.result).toMatchObject({ format: 'chat' });
      expect(readRewardModelInfo(backend.paths, 'rm').promptFormat).toBe('chat');
      const scored = await call(backend, 'rewards.score', { reward: 'rm:rm', dataset: 'prefs' });
      expect(scored.count).toBe(12);
      expect(scored.rows.every((r) => Number.isFinite(r.reward))).toBe(true);
    },
    SLOW,
  );
});
