/**
 * --format through the real `alol` process: train, sample, generate and campaign create on a tiny
 * Llama with Meta's Llama 3 tokenizer and chat template (test/helpers/chatLlama.ts) and on a GPT-2
 * model new makes (no template). Each says which format it used; 'chat' on the GPT-2 model is
 * refused naming the model, and a sample in chat stops at the template's <|eot_id|>.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/main/lm/tokenizer/index';
import { LLAMA3_TOKENIZER, writeChatLlama } from '../helpers/chatLlama';
import { alol } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

const tempDir = useSuiteTempDir();

/** Each test runs several real processes, on 2 shared cores. */
const SLOW = 300_000;

let p: string[];
// A project with the demo data, the scripted chat Llama ("chatty", replies " Five" then <|eot_id|>),
// a second chat Llama ("twin") and a GPT-2 model without a template ("plain").
beforeAll(async () => {
  const word = (await Tokenizer.load(LLAMA3_TOKENIZER)).encode(' Five')[0]!;
  p = ['--project', join(tempDir(), 'project')];
  expect(alol(['demo', 'data', '--name', 'demo', '--prompts', '12', '--seed', '2', ...p]).status).toBe(0);
  for (const [name, options] of [
    ['chatty', { scripted: { word } }],
    ['twin', { seed: 2 }],
  ] as const) {
    const dir = join(tempDir(), `hf-${name}`);
    writeChatLlama(dir, options);
    const imported = alol(['model', 'import', dir, '--name', name, ...p]);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
  }
  const made = alol(
    ['model', 'new', '--name', 'plain', '--data', 'demo', '--layers', '1', '--dim', '16'].concat([
      '--heads',
      '2',
      '--context',
      '64',
      '--vocab',
      '300',
      ...p,
    ]),
  );
  expect(made.status).toBe(0);
}, SLOW);

const REFUSED =
  'format "chat" needs a chat template, and model "plain" has none (no chat_template in its tokenizer_config.json): use format "raw"';

describe('alol --format', () => {
  it(
    'trains in the format asked for, says which, and refuses chat without a template',
    () => {
      const train = (init: string, out: string, ...more: string[]) =>
        alol(
          [
            'train',
            '--algo',
            'nll',
            '--data',
            'demo',
            '--init',
            init,
            '--out',
            out,
            '--steps',
            '2',
            '--batch',
            '2',
          ].concat(more, p),
        );
      // chat: the template's prompt, only the reply trained; the output says so.
      const chat = train('chatty', 'c-chat', '--format', 'chat');
      expect(chat.status).toBe(0);
      expect(chat.stdout).toMatch(/^Run 1 succeeded: nll -> model "c-chat"; format: chat \(the model's template\)$/m);
      expect(chat.stdout).toContain('"format": "chat"');
      // raw on the same model, asked for.
      const raw = train('chatty', 'c-raw', '--format', 'raw', '--json');
      expect(raw.stderr).toBe('');
      expect(raw.json()).toMatchObject({ status: 'succeeded', config: { format: 'raw' }, summary: { format: 'raw' } });

      // GPT-2 from model new has no template: chat is refused before a run is made, the default is raw.
      const refused = train('plain', 'p-chat', '--format', 'chat');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(REFUSED);
      expect(alol(['runs', ...p, '--json']).json()).toHaveLength(2);
      const plain = train('plain', 'p-default');
      expect(plain.status).toBe(0);
      expect(plain.stdout).toContain('; format: raw (the model has no chat template)');
      expect(train('plain', 'p-bad', '--format', 'jinja').stderr).toMatch(/format/);
    },
    SLOW,
  );

  it(
    'samples and generates in the format asked for; a chat reply ends at <|eot_id|>',
    () => {
      const prompts = join(tempDir(), 'prompts.jsonl');
      writeFileSync(prompts, JSON.stringify({ prompt: '\n\nHuman: What is 2 plus 3?\n\nAssistant:' }) + '\n');
      const sample = (...more: string[]) =>
        alol(['sample', '--prompts-file', prompts, '--max-new-tokens', '6'].concat(more, p));
      // chat by default on a model with a template.
      const sampled = sample('--model', 'chatty');
      expect(sampled.stderr).toBe('');
      expect(sampled.stdout).toContain("format: chat (the model's template)");
      expect(JSON.parse(sample('--model', 'chatty', '--json').stdout.trim())).toMatchObject({
        response: ' Five',
        finishReason: 'eos',
        format: 'chat',
      });
      // raw: after "Assistant:" the scripted model never ends its reply.
      expect(JSON.parse(sample('--model', 'chatty', '--format', 'raw', '--json').stdout.trim())).toMatchObject({
        finishReason: 'length',
        format: 'raw',
      });
      const refused = sample('--model', 'plain', '--format', 'chat');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(REFUSED);
      expect(sample('--model', 'plain', '--format', 'xml').stderr).toContain(
        'sample: --format must be chat or raw, not "xml"',
      );

      // generate gives its prompt as it is unless asked for chat.
      const generate = (...more: string[]) =>
        alol(['generate', '--model', 'chatty', '--prompt', 'Hi', '--max-new-tokens', '4'].concat(more, p));
      expect(generate('--format', 'chat', '--json').json()).toMatchObject({
        response: ' Five',
        finishReason: 'eos',
        format: 'chat',
      });
      expect(generate().stdout).toContain('format: raw (the HH text as it is, not the chat template)');
    },
    SLOW,
  );

  it(
    'makes a campaign that samples in its format, and refuses chat for a model without a template',
    () => {
      const campaign = (name: string, models: string, ...more: string[]) =>
        alol(
          ['campaign', 'create', '--name', name, '--models', models, '--prompts', 'demo', '--n', '2'].concat(
            ['--max-new-tokens', '4'],
            more,
            p,
          ),
        );
      const chat = campaign('chats', 'chatty,twin', '--format', 'chat');
      expect(chat.stderr).toBe('');
      expect(chat.stdout).toMatch(/^ {2}format: {4}chat$/m);
      expect(campaign('defaults', 'chatty,twin', '--json').json()).toMatchObject({ format: null, status: 'ready' });
      // The chat campaign's responses of chatty are its scripted reply, sampled in chat.
      const items = alol(['campaign', 'items', 'chats', ...p, '--json']).json() as {
        first: { system: string; response: string };
        second: { system: string; response: string };
      }[];
      const chattys = items.flatMap((i) => [i.first, i.second]).filter((r) => r.system === 'chatty');
      expect(chattys.length).toBeGreaterThan(0);
      expect(chattys.every((r) => r.response === ' Five')).toBe(true);
      const refused = campaign('bad', 'chatty,plain', '--format', 'chat');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(REFUSED);
    },
    SLOW,
  );
});
