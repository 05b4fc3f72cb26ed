import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import type { FieldMapping, ImportFormat, ImportIssue } from '../../src/shared/contract';
import { parseImportFile, type ParseResult } from '../../src/main/data/import/parseFile';

// The corpus is generated here, not committed: some of it is large, some deliberately broken.
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alol-import-malformed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parseContent(
  name: string,
  content: string | Buffer,
  format: ImportFormat = 'auto',
  more: { fields?: FieldMapping; maxIssues?: number } = {},
): Promise<ParseResult> {
  const path = join(dir, name);
  await writeFile(path, content);
  return parseImportFile(path, {
    format,
    fields: more.fields ?? {},
    ...(more.maxIssues ? { maxIssues: more.maxIssues } : {}),
  });
}

const jsonl = (...records: unknown[]): string =>
  records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

/** Issues in a compact form that says everything a user would see. */
const brief = (issues: readonly ImportIssue[]): Array<[number, string | undefined, string]> =>
  issues.map((i) => [i.line, i.field, i.message]);

describe('JSON Lines problems', () => {
  it('bad JSON names the line; good lines around it still parse', async () => {
    const result = await parseContent(
      'bad.jsonl',
      jsonl({ prompt: 'a', response: 'b' }, '{"prompt": "a", "response": }', { prompt: 'c', response: 'd' }),
    );
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ file: 'bad.jsonl', line: 2 });
    expect(result.issues[0]?.field).toBeUndefined();
    expect(result.issues[0]?.message).toMatch(/^line 2: not valid JSON: /);
    expect(result.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(result.rows).toBe(3);
  });

  it('a missing field is named', async () => {
    const result = await parseContent(
      'missing.jsonl',
      jsonl({ prompt: 'a', response: 'b' }, { prompt: 'only' }),
      'jsonl',
    );
    expect(brief(result.issues)).toEqual([[2, 'response', 'line 2, field "response": required field is missing']]);
  });

  it('wrong types are reported for every field of the record at once', async () => {
    const result = await parseContent('types.jsonl', jsonl({ prompt: 42, response: null, reward: 'high' }), 'jsonl');
    expect(brief(result.issues)).toEqual([
      [1, 'prompt', 'line 1, field "prompt": expected a string, got number 42'],
      [1, 'response', 'line 1, field "response": expected a string, got null'],
      [1, 'reward', 'line 1, field "reward": expected a number, got string "high"'],
    ]);
    expect(result.examples).toEqual([]);
  });

  it('a reward out of range (Infinity after JSON.parse) is not a finite number', async () => {
    const result = await parseContent('inf.jsonl', '{"prompt": "a", "response": "b", "reward": 1e999}\n', 'jsonl');
    expect(brief(result.issues)).toEqual([
      [1, 'reward', 'line 1, field "reward": expected a finite number, got Infinity'],
    ]);
  });

  it('a line that is not an object says what it is', async () => {
    const result = await parseContent(
      'scalars.jsonl',
      jsonl({ prompt: 'a', response: 'b' }, '42', '"text"', '[{"prompt": "a"}]'),
    );
    expect(brief(result.issues)).toEqual([
      [2, undefined, 'line 2: expected a JSON object, got number 42'],
      [3, undefined, 'line 3: expected a JSON object, got string "text"'],
      [
        4,
        undefined,
        expect.stringContaining('line 4: expected a JSON object, got an array; the importer reads JSON Lines'),
      ],
    ]);
  });

  it('a JSON array file on one line is explained', async () => {
    const result = await parseContent('array.json', JSON.stringify([{ prompt: 'a', response: 'b' }]));
    expect(brief(result.issues)).toEqual([
      [1, undefined, expect.stringMatching(/^line 1: expected a JSON object, got an array.*not a JSON array$/)],
    ]);
  });

  it('a pretty-printed JSON document is one issue, not one per line', async () => {
    const result = await parseContent('pretty.json', JSON.stringify([{ prompt: 'a', response: 'b' }], null, 2));
    expect(brief(result.issues)).toEqual([
      [
        1,
        undefined,
        expect.stringContaining('looks like one JSON document spread over many lines (it starts with "[")'),
      ],
    ]);
  });

  it('unknown keys: lists the keys found and the formats expected', async () => {
    const result = await parseContent(
      'unknown.jsonl',
      jsonl({ question: 'q', answer: 'a' }, { question: 'q2', answer: 'a2' }),
    );
    expect(result.issues).toHaveLength(1);
    const issue = result.issues[0];
    expect(issue?.line).toBe(1);
    expect(issue?.message).toContain('cannot tell the format: the first record has the fields "question" and "answer"');
    for (const expected of ['(jsonl)', '(hh-rlhf)', '(trl-preference)', '(trl-unpaired)', '(prompt-completion)']) {
      expect(issue?.message).toContain(expected);
    }
  });

  it('chosen/rejected of mixed types cannot be detected', async () => {
    const result = await parseContent('mixed.jsonl', jsonl({ chosen: 'text', rejected: [] }));
    expect(brief(result.issues)).toEqual([[1, undefined, expect.stringContaining('got a string and a list')]]);
  });

  it('non-UTF-8 bytes name the line', async () => {
    const content = Buffer.concat([
      Buffer.from('{"prompt": "a", "response": "b"}\n{"prompt": "a", "response": "b"}\n{"prompt": "caf'),
      Buffer.from([0xe9]), // Latin-1 é: a lone continuation-less lead byte in UTF-8
      Buffer.from('", "response": "b"}\n'),
    ]);
    const result = await parseContent('latin1.jsonl', content);
    expect(brief(result.issues)).toEqual([[3, undefined, expect.stringMatching(/^line 3: not valid UTF-8/)]]);
    expect(result.examples).toHaveLength(2);
  });

  it('a 10 MB line is reported with the limit and its size, and the rest of the file is still read', async () => {
    const huge = JSON.stringify({ prompt: 'p', response: 'x'.repeat(10 * 1024 * 1024) });
    const result = await parseContent(
      'huge.jsonl',
      `${JSON.stringify({ prompt: 'a', response: 'b' })}\n${huge}\n${JSON.stringify({ prompt: 'c', response: 'd' })}\n`,
    );
    const size = Buffer.byteLength(huge);
    expect(brief(result.issues)).toEqual([
      [
        2,
        undefined,
        `line 2: the line is 10.0 MiB (${size.toLocaleString('en-US')} bytes), over the limit of 4 MiB (4,194,304 bytes) per line`,
      ],
    ]);
    expect(result.examples.map((e) => e.line)).toEqual([1, 3]);
  });

  it('an empty file, or one of blank lines only, has no records', async () => {
    for (const [name, content] of [
      ['empty.jsonl', ''],
      ['blank.jsonl', '\n  \n\r\n'],
      ['empty.csv', ''],
    ] as const) {
      const result = await parseContent(name, content);
      expect(brief(result.issues), name).toEqual([[0, undefined, expect.stringMatching(/^no records/)]]);
      expect(result.rows).toBe(0);
    }
    const headerOnly = await parseContent('header-only.csv', 'prompt,response\n');
    expect(brief(headerOnly.issues)).toEqual([
      [0, undefined, 'no records: the file has a header row but no data rows'],
    ]);
  });

  it('a missing file or a directory is one issue at line 0', async () => {
    const missing = await parseImportFile(join(dir, 'nope.jsonl'), { format: 'auto', fields: {} });
    expect(brief(missing.issues)).toEqual([[0, undefined, 'cannot read the file: it does not exist']]);
    expect(missing.issues[0]?.file).toBe('nope.jsonl');
    await mkdir(join(dir, 'folder.jsonl'));
    const folder = await parseImportFile(join(dir, 'folder.jsonl'), {
      format: 'auto',
      fields: {},
      displayName: 'shown.jsonl',
    });
    expect(folder.issues).toEqual([
      { file: 'shown.jsonl', line: 0, message: 'cannot read the file: it is a directory' },
    ]);
  });

  it('stops collecting at maxIssues and says that more were omitted', async () => {
    const lines = Array.from({ length: 30 }, () => 'not json');
    const result = await parseContent('many.jsonl', `${lines.join('\n')}\n`, 'jsonl', { maxIssues: 5 });
    expect(result.issues).toHaveLength(6);
    expect(result.issues.slice(0, 5).map((i) => i.line)).toEqual([1, 2, 3, 4, 5]);
    expect(result.issues[5]).toMatchObject({
      line: 6,
      message: 'more than 5 issues; checking stopped at line 6, so further issues were omitted',
    });
  });

  it('caps issues found within one record too', async () => {
    const result = await parseContent('one-line.jsonl', jsonl({ prompt: 1, response: 2, reward: 'x' }), 'jsonl', {
      maxIssues: 2,
    });
    expect(result.issues.map((i) => i.field)).toEqual(['prompt', 'response', undefined]);
    expect(result.issues[2]?.message).toMatch(/^more than 2 issues/);
  });
});

describe('gzip problems', () => {
  const lines = Array.from({ length: 2000 }, (_, i) =>
    JSON.stringify({ prompt: `question ${i} ${'q'.repeat(i % 97)}`, response: `answer ${i}` }),
  );
  const whole = gzipSync(`${lines.join('\n')}\n`);

  it('a truncated .gz names the last line reached, and the lines before it parse', async () => {
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    // What a lenient decompressor recovers tells which line the data stops in.
    const recovered = gunzipSync(truncated, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const complete = recovered.split('\n').length - 1;
    const partial = !recovered.endsWith('\n');
    const lastLine = partial ? complete + 1 : complete;
    const result = await parseContent('cut.jsonl.gz', truncated);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.line).toBe(lastLine);
    expect(result.issues[0]?.message).toBe(
      `line ${lastLine}: the compressed (gzip) file is truncated: it ends ${partial ? 'inside' : 'after'} line ${lastLine} (unexpected end of file)`,
    );
    expect(result.examples).toHaveLength(complete);
  });

  it('corrupt gzip data is reported as corrupt', async () => {
    const corrupt = Buffer.from(whole);
    corrupt.fill(0xaa, 20, 400);
    const result = await parseContent('corrupt.jsonl.gz', corrupt);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.message).toMatch(/the compressed \(gzip\) data is corrupt/);
  });
});

describe('CSV problems', () => {
  it('a wrong column count names the line', async () => {
    const result = await parseContent('columns.csv', 'prompt,response,reward\na,b,1\na,b,1,extra\n"multi\nline",b\n');
    expect(brief(result.issues)).toEqual([
      [3, undefined, 'line 3: expected 3 fields, as in the header, got 4'],
      [4, undefined, 'line 4: expected 3 fields, as in the header, got 2'],
    ]);
    expect(result.rows).toBe(3);
  });

  it('a reward that is not a number is named with its field', async () => {
    const result = await parseContent('reward.csv', 'prompt,response,reward\na,b,high\na,b,0x10\na,b, 2.5 \n');
    expect(brief(result.issues)).toEqual([
      [2, 'reward', 'line 2, field "reward": expected a number, got string "high"'],
      [3, 'reward', 'line 3, field "reward": expected a number, got string "0x10"'],
    ]);
    expect(result.examples).toMatchObject([{ line: 4, reward: 2.5 }]);
  });

  it('an unclosed quote is reported at the line its record starts on', async () => {
    const result = await parseContent('unclosed.csv', 'prompt,response\na,b\n"never closed,b\nc,d\n');
    expect(brief(result.issues)).toEqual([
      [3, undefined, 'line 3: a quoted field that starts in this record is never closed'],
    ]);
  });

  it('text after a closing quote is a syntax issue', async () => {
    const result = await parseContent('after-quote.csv', 'prompt,response\n"a"b,c\n');
    expect(brief(result.issues)).toEqual([
      [2, undefined, 'line 2: unexpected text after the closing quote of field 1 on line 2'],
    ]);
  });

  it('non-UTF-8 bytes in CSV name the line, and later records stay in step', async () => {
    const content = Buffer.concat([
      Buffer.from('prompt,response\n"caf'),
      Buffer.from([0xe9]),
      Buffer.from('\nmore",b\nc,d\n'),
    ]);
    const result = await parseContent('latin1.csv', content);
    expect(brief(result.issues)).toEqual([[2, undefined, 'line 2: not valid UTF-8 (save the file as UTF-8)']]);
    expect(result.examples).toMatchObject([{ line: 4, prompt: 'c', response: 'd' }]);
  });

  it('a duplicate header column is an issue', async () => {
    const result = await parseContent('dup.csv', 'prompt,response,prompt\na,b,c\n');
    expect(brief(result.issues)).toEqual([
      [1, undefined, 'line 1: the column "prompt" appears more than once in the header'],
    ]);
  });

  it('a bad label in CSV says what is accepted', async () => {
    const result = await parseContent('label.csv', 'prompt,completion,label\na,b,yes\n', 'trl-unpaired');
    expect(brief(result.issues)).toEqual([
      [2, 'label', 'line 2, field "label": expected true, false, 1 or 0, got string "yes"'],
    ]);
  });
});

describe('conversational shape problems', () => {
  it('names the path of a bad role or content', async () => {
    const record = {
      prompt: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'tool', content: 'x' },
        { content: 'no role' },
        'just text',
      ],
      chosen: [{ role: 'assistant', content: 7 }],
      rejected: [{ role: 'assistant', content: 'ok' }],
    };
    const result = await parseContent('roles.jsonl', jsonl(record), 'trl-preference');
    expect(brief(result.issues)).toEqual([
      [
        1,
        'prompt[2].role',
        'line 1, field "prompt[2].role": expected "system", "user" or "assistant", got string "tool"',
      ],
      [1, 'prompt[3].role', 'line 1, field "prompt[3].role": required field is missing'],
      [1, 'prompt[4]', 'line 1, field "prompt[4]": expected a message {"role", "content"}, got string "just text"'],
      [1, 'chosen[0].content', 'line 1, field "chosen[0].content": expected a string, got number 7'],
    ]);
  });

  it('a system message after the start, a prompt ending with the assistant, a reply starting with the user', async () => {
    const record = {
      prompt: [
        { role: 'user', content: 'hi' },
        { role: 'system', content: 'late' },
        { role: 'assistant', content: 'hello' },
      ],
      chosen: [{ role: 'user', content: 'me again' }],
      rejected: [{ role: 'assistant', content: 'ok' }],
    };
    const result = await parseContent('order.jsonl', jsonl(record), 'trl-preference');
    expect(brief(result.issues)).toEqual([
      [1, 'prompt[1].role', 'line 1, field "prompt[1].role": a "system" message must come before all other messages'],
      [
        1,
        'prompt[2].role',
        'line 1, field "prompt[2].role": the prompt must end with a "user" message, got "assistant"',
      ],
      [
        1,
        'chosen[0].role',
        'line 1, field "chosen[0].role": a reply must start with an "assistant" message, got "user"',
      ],
    ]);
  });

  it('a prompt and replies in different forms are named', async () => {
    const result = await parseContent(
      'forms.jsonl',
      jsonl(
        { prompt: 'text prompt', chosen: [{ role: 'assistant', content: 'a' }], rejected: 'b' },
        { prompt: [{ role: 'user', content: 'q' }], completion: 'a' },
      ),
      'auto',
    );
    expect(brief(result.issues)).toEqual([
      [1, 'chosen', 'line 1, field "chosen": expected a string, as "prompt" is a string, got a list of messages'],
      // Line 2 lacks "chosen": detection went by line 1, so the format is trl-preference for every line.
      [2, 'chosen', 'line 2, field "chosen": required field is missing'],
      [2, 'rejected', 'line 2, field "rejected": required field is missing'],
    ]);
    const unpaired = await parseContent(
      'forms2.jsonl',
      jsonl({ prompt: [{ role: 'user', content: 'q' }], completion: 'a' }),
      'prompt-completion',
    );
    expect(brief(unpaired.issues)).toEqual([
      [
        1,
        'completion',
        'line 1, field "completion": expected a list of messages, as "prompt" is a list of messages, got string "a"',
      ],
    ]);
  });

  it('trl-preference without a prompt needs message lists that share a prompt', async () => {
    const strings = await parseContent('no-prompt.jsonl', jsonl({ chosen: 'a', rejected: 'b' }), 'trl-preference');
    expect(brief(strings.issues)).toEqual([
      [
        1,
        'prompt',
        expect.stringContaining('required field is missing (without it, "chosen" and "rejected" must be lists'),
      ],
    ]);
    const unrelated = await parseContent(
      'unrelated.jsonl',
      jsonl({
        chosen: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'x' },
        ],
        rejected: [
          { role: 'user', content: 'b' },
          { role: 'assistant', content: 'y' },
        ],
      }),
      'trl-preference',
    );
    expect(brief(unrelated.issues)).toEqual([
      [1, undefined, expect.stringContaining('do not begin with the same messages')],
    ]);
  });

  it('a label that is not a boolean in JSON', async () => {
    const result = await parseContent(
      'label.jsonl',
      jsonl({ prompt: 'p', completion: 'c', label: 'yes' }, { prompt: 'p', completion: 'c' }),
      'trl-unpaired',
    );
    expect(brief(result.issues)).toEqual([
      [1, 'label', 'line 1, field "label": expected true or false, got string "yes"'],
      [2, 'label', 'line 2, field "label": required field is missing'],
    ]);
  });
});
