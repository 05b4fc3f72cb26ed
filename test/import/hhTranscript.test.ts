import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitTranscripts } from '../../src/main/data/import/hhTranscript';
import { parseImportFile } from '../../src/main/data/import/parseFile';

const P = '\n\nHuman: Can you help me?\n\nAssistant: Maybe.\n\nHuman: Please?\n\nAssistant:';

describe('splitTranscripts', () => {
  it('keeps a "\\n\\nHuman:" turn that is part of a reply in the reply', () => {
    const chosen = `${P} Sure.\n\nHuman: Thanks!\n\nAssistant: You are welcome.`;
    const rejected = `${P} No.`;
    // A rule reading the chosen transcript alone would cut at its last "Assistant:".
    expect(splitTranscripts(chosen, rejected)).toEqual({
      prompt: P,
      chosen: ' Sure.\n\nHuman: Thanks!\n\nAssistant: You are welcome.',
      rejected: ' No.',
    });
  });

  it('gives an empty chosen reply when the chosen transcript ends at "Assistant:"', () => {
    expect(splitTranscripts(P, `${P} Here you go.`)).toEqual({ prompt: P, chosen: '', rejected: ' Here you go.' });
  });

  it('gives an empty rejected reply too', () => {
    expect(splitTranscripts(`${P} Here you go.`, P)).toEqual({ prompt: P, chosen: ' Here you go.', rejected: '' });
  });

  it('splits identical transcripts at their last assistant turn, both replies equal', () => {
    expect(splitTranscripts(`${P} Same.`, `${P} Same.`)).toEqual({ prompt: P, chosen: ' Same.', rejected: ' Same.' });
  });

  it('does not take words both replies start with into the prompt', () => {
    expect(splitTranscripts(`${P} I think yes.`, `${P} I think no.`)).toEqual({
      prompt: P,
      chosen: ' I think yes.',
      rejected: ' I think no.',
    });
  });

  it('keeps the leading whitespace of a reply exactly as in the source', () => {
    expect(splitTranscripts(`${P}  Two spaces.`, `${P}No space.`)).toEqual({
      prompt: P,
      chosen: '  Two spaces.',
      rejected: 'No space.',
    });
  });

  it('cuts at the last assistant turn the transcripts share when they differ earlier', () => {
    const chosen = '\n\nHuman: A\n\nAssistant: x\n\nHuman: B\n\nAssistant: y';
    const rejected = '\n\nHuman: A\n\nAssistant: z';
    expect(splitTranscripts(chosen, rejected)).toEqual({
      prompt: '\n\nHuman: A\n\nAssistant:',
      chosen: ' x\n\nHuman: B\n\nAssistant: y',
      rejected: ' z',
    });
  });

  it('finds no prompt without an assistant turn in common', () => {
    expect(splitTranscripts('\n\nHuman: hi', '\n\nHuman: hi')).toBeNull();
    expect(splitTranscripts('\n\nHuman: hi\n\nAssistant: a', '\n\nHuman: hi\n\nAssist')).toBeNull();
    expect(splitTranscripts('', '')).toBeNull();
  });

  it('prompt + reply always gives back each transcript', () => {
    const cases: Array<[string, string]> = [
      [`${P} a\n\nHuman: b`, `${P} a\n\nHuman: c`],
      [P, P],
      [`${P}\n\nAssistant: double`, `${P} single`],
    ];
    for (const [chosen, rejected] of cases) {
      const split = splitTranscripts(chosen, rejected);
      expect(split).not.toBeNull();
      expect(split && split.prompt + split.chosen).toBe(chosen);
      expect(split && split.prompt + split.rejected).toBe(rejected);
      expect(split?.prompt.endsWith('\n\nAssistant:')).toBe(true);
    }
  });
});

describe('hh-rlhf files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alol-hh-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a pair with no assistant turn in common as an issue naming its line', async () => {
    const path = join(dir, 'no-assistant.jsonl');
    const lines = [
      { chosen: `${P} ok`, rejected: `${P} no` },
      { chosen: '\n\nHuman: hello', rejected: '\n\nHuman: hello there' },
    ];
    await writeFile(path, lines.map((l) => JSON.stringify(l)).join('\n'));
    const result = await parseImportFile(path, { format: 'hh-rlhf', fields: {} });
    expect(result.pairs).toHaveLength(1);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ file: 'no-assistant.jsonl', line: 2 });
    expect(result.issues[0]?.field).toBeUndefined();
    expect(result.issues[0]?.message).toMatch(/^line 2: "chosen" and "rejected" have no "Assistant:" turn in common/);
  });

  it('reports non-string transcripts by field, both at once', async () => {
    const path = join(dir, 'types.jsonl');
    await writeFile(path, `${JSON.stringify({ chosen: 5, rejected: ['x'] })}\n`);
    const result = await parseImportFile(path, { format: 'hh-rlhf', fields: {} });
    expect(result.issues.map((i) => [i.line, i.field, i.message])).toEqual([
      [1, 'chosen', 'line 1, field "chosen": expected a string, got number 5'],
      [1, 'rejected', 'line 1, field "rejected": expected a string, got a list of 1 item'],
    ]);
  });
});
