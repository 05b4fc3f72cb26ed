import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { FieldMapping, ImportFormat } from '../../src/shared/contract';
import { parseImportFile, type ParseResult } from '../../src/main/data/import/parseFile';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/import/${name}`, import.meta.url));

async function parse(name: string, format: ImportFormat = 'auto', fields: FieldMapping = {}): Promise<ParseResult> {
  return parseImportFile(fixture(name), { format, fields });
}

async function parseClean(
  name: string,
  format: ImportFormat = 'auto',
  fields: FieldMapping = {},
): Promise<ParseResult> {
  const result = await parse(name, format, fields);
  expect(result.issues).toEqual([]);
  return result;
}

describe('jsonl', () => {
  it('reads prompt, response and an optional numeric reward, keeping other fields as metadata', async () => {
    const result = await parseClean('rewarded.jsonl', 'jsonl');
    expect(result.format).toBe('jsonl');
    expect(result.rows).toBe(4);
    expect(result.pairs).toEqual([]);
    expect(result.examples).toEqual([
      {
        line: 1,
        prompt: 'What is 2+2?',
        response: '4',
        reward: 1.5,
        rewardSource: 'column:reward',
        metadata: { source: 'math' },
      },
      {
        line: 2,
        prompt: 'Name a colour.',
        response: 'Blue',
        reward: -0.25,
        rewardSource: 'column:reward',
        metadata: null,
      },
      // Line 3 is blank and skipped; numbering stays physical.
      { line: 4, prompt: 'Say hi.', response: 'Hi!', reward: null, rewardSource: null, metadata: null },
      { line: 5, prompt: 'Say bye.', response: '', reward: null, rewardSource: null, metadata: null },
    ]);
  });
});

describe('csv', () => {
  it('reads RFC 4180 quoting: commas and CRLF line breaks inside quotes, "" escapes, empty reward cells', async () => {
    const result = await parseClean('rewarded.csv');
    expect(result.format).toBe('csv');
    expect(result.rows).toBe(3);
    expect(result.examples).toEqual([
      {
        line: 2,
        prompt: 'Write a haiku, please',
        // The file uses CRLF, and line breaks inside a quoted field are kept exactly.
        response: 'Old pond,\r\na frog jumps in,\r\nthe sound of water',
        reward: 0.75,
        rewardSource: 'column:reward',
        metadata: { note: 'classic' },
      },
      {
        line: 5,
        prompt: 'Quote me',
        response: 'She said "hello".',
        reward: null,
        rewardSource: null,
        metadata: { note: '' },
      },
      {
        line: 6,
        prompt: 'Plain',
        response: 'Simple',
        reward: -20,
        rewardSource: 'column:reward',
        metadata: { note: 'x' },
      },
    ]);
  });

  it('reads mapped column names, with records starting on the physical line where they begin', async () => {
    const result = await parseClean('questions.csv', 'csv', {
      prompt: 'question',
      response: 'answer',
      reward: 'score',
    });
    expect(result.examples).toEqual([
      {
        line: 2,
        prompt: 'Capital of France?',
        response: 'Paris',
        reward: 1,
        rewardSource: 'column:score',
        metadata: { id: 'q1' },
      },
      {
        line: 3,
        prompt: 'Multi\nline question?',
        response: 'Multi\nline answer',
        reward: 0,
        rewardSource: 'column:score',
        metadata: { id: 'q2' },
      },
    ]);
  });

  it('with --format auto and unknown columns, says it cannot tell the format and lists the columns', async () => {
    const result = await parse('questions.csv');
    expect(result.issues).toEqual([
      expect.objectContaining({ line: 1, message: expect.stringContaining('cannot tell the format') }),
    ]);
    expect(result.issues[0]?.message).toContain('the header has the fields "id", "question", "answer" and "score"');
  });

  it('detects the record format of a CSV file from its header', async () => {
    const result = await parseClean('trl-unpaired.csv');
    expect(result.format).toBe('trl-unpaired');
    expect(result.examples[0]).toMatchObject({ response: 'Blue', reward: 1, rewardSource: 'label' });
  });

  it('with --format csv but no mapping, names the missing column and the columns it found', async () => {
    const result = await parse('questions.csv', 'csv');
    expect(result.issues).toEqual([
      expect.objectContaining({ line: 1, field: 'prompt', message: expect.stringContaining('no "prompt" column') }),
      expect.objectContaining({ line: 1, field: 'response' }),
    ]);
    expect(result.issues[0]?.message).toContain('"id", "question", "answer" and "score"');
  });

  it('reads trl-unpaired labels from CSV as true/false/1/0 in any case', async () => {
    const result = await parseClean('trl-unpaired.csv', 'trl-unpaired');
    expect(result.format).toBe('trl-unpaired');
    expect(result.examples.map((e) => [e.response, e.reward, e.rewardSource])).toEqual([
      ['Blue', 1, 'label'],
      ['Green', 0, 'label'],
      ['Green', 1, 'label'],
      ['Purple', 0, 'label'],
    ]);
  });
});

describe('hh-rlhf', () => {
  it('splits each pair of transcripts into the shared prompt and the two replies, chosen first', async () => {
    const result = await parseClean('hh.jsonl', 'hh-rlhf');
    expect(result.examples).toEqual([]);
    expect(result.pairs).toEqual([
      {
        line: 1,
        prompt: '\n\nHuman: Hi there\n\nAssistant:',
        chosen: ' Hello! How can I help?',
        rejected: ' Go away.',
        metadata: { split: 'test' },
      },
      {
        line: 2,
        prompt: '\n\nHuman: Tell me a joke\n\nAssistant: Why?\n\nHuman: For fun\n\nAssistant:',
        chosen: ' A pun walks into a bar.',
        rejected: ' No.',
        metadata: null,
      },
    ]);
  });
});

describe('trl-preference', () => {
  it('standard form keeps the strings as they are', async () => {
    const result = await parseClean('trl-preference.jsonl', 'trl-preference');
    expect(result.pairs).toEqual([
      { line: 1, prompt: 'The sky is', chosen: ' blue.', rejected: ' green.', metadata: { score_chosen: 9 } },
    ]);
  });

  it('conversational form renders to HH text, system message first', async () => {
    const result = await parseClean('trl-preference-conversational.jsonl', 'trl-preference');
    expect(result.pairs).toEqual([
      {
        line: 1,
        prompt: 'System: Be brief.\n\nHuman: What color is the sky?\n\nAssistant:',
        chosen: ' Blue.',
        rejected: ' Green.',
        metadata: null,
      },
      {
        line: 2,
        prompt: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:',
        chosen: ' Goodbye!',
        rejected: ' Whatever.',
        metadata: null,
      },
    ]);
  });

  it('implicit prompt form takes the common message prefix as the prompt', async () => {
    const result = await parseClean('trl-preference-implicit.jsonl', 'trl-preference');
    expect(result.pairs).toEqual([
      {
        line: 1,
        prompt: '\n\nHuman: What color is the sky?\n\nAssistant:',
        chosen: ' It is blue.',
        rejected: ' It is green.',
        metadata: null,
      },
      {
        line: 2,
        prompt: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Joke?\n\nAssistant:',
        chosen: ' Knock knock.',
        rejected: ' No.',
        metadata: null,
      },
    ]);
  });
});

describe('trl-unpaired', () => {
  it('standard form: label true/false becomes reward 1/0 from "label"', async () => {
    const result = await parseClean('trl-unpaired.jsonl', 'trl-unpaired');
    expect(result.examples).toEqual([
      { line: 1, prompt: 'The sky is', response: ' blue.', reward: 1, rewardSource: 'label', metadata: null },
      {
        line: 2,
        prompt: 'The sky is',
        response: ' green.',
        reward: 0,
        rewardSource: 'label',
        metadata: { annotator: 'a1' },
      },
    ]);
  });

  it('conversational form renders to HH text', async () => {
    const result = await parseClean('trl-unpaired-conversational.jsonl', 'trl-unpaired');
    expect(result.examples).toEqual([
      {
        line: 1,
        prompt: '\n\nHuman: What color is the sky?\n\nAssistant:',
        response: ' It is blue.',
        reward: 1,
        rewardSource: 'label',
        metadata: null,
      },
    ]);
  });
});

describe('prompt-completion', () => {
  it('standard form has no reward', async () => {
    const result = await parseClean('prompt-completion.jsonl', 'prompt-completion');
    expect(result.examples).toEqual([
      { line: 1, prompt: 'The sky is', response: ' blue.', reward: null, rewardSource: null, metadata: null },
    ]);
  });

  it('conversational form renders to HH text', async () => {
    const result = await parseClean('prompt-completion-conversational.jsonl', 'prompt-completion');
    expect(result.examples).toEqual([
      {
        line: 1,
        prompt: '\n\nHuman: What color is the sky?\n\nAssistant:',
        response: ' It is blue.',
        reward: null,
        rewardSource: null,
        metadata: null,
      },
    ]);
  });
});

describe('auto-detection', () => {
  it.each([
    ['rewarded.jsonl', 'jsonl'],
    ['rewarded.csv', 'csv'],
    ['hh.jsonl', 'hh-rlhf'],
    ['trl-preference.jsonl', 'trl-preference'],
    ['trl-preference-conversational.jsonl', 'trl-preference'],
    ['trl-preference-implicit.jsonl', 'trl-preference'],
    ['trl-unpaired.jsonl', 'trl-unpaired'],
    ['trl-unpaired-conversational.jsonl', 'trl-unpaired'],
    ['prompt-completion.jsonl', 'prompt-completion'],
    ['prompt-completion-conversational.jsonl', 'prompt-completion'],
  ] as const)('%s is detected as %s and parses cleanly', async (name, format) => {
    const auto = await parseClean(name);
    expect(auto.format).toBe(format);
    // Detection gives the same result as naming the format.
    const named = await parse(name, format);
    expect(auto).toEqual(named);
    expect(auto.examples.length + auto.pairs.length).toBeGreaterThan(0);
  });

  it('detects through the field mapping', async () => {
    const result = await parseClean('trl-unpaired.jsonl', 'auto', { completion: 'prompt', prompt: 'completion' });
    expect(result.format).toBe('trl-unpaired');
    // The mapping is really used: the columns are swapped.
    expect(result.examples[0]).toMatchObject({ prompt: ' blue.', response: 'The sky is' });
  });

  it('a mapping that reads two fields from one column is an issue, not silent duplication', async () => {
    const result = await parse('rewarded.jsonl', 'jsonl', { response: 'prompt' });
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({
      line: 0,
      message: expect.stringContaining('both "prompt" and "response" from the field "prompt"'),
    });
  });
});
