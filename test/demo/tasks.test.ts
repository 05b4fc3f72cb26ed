import { describe, expect, it } from 'vitest';
import { DEMO_FAMILIES, familyRequests, parseRequest } from '../../src/main/data/demo';

describe('demo requests', () => {
  it('reads every request it can write back into the task that wrote it', () => {
    for (const family of DEMO_FAMILIES) {
      const requests = familyRequests(family);
      expect(requests.length, family).toBeGreaterThanOrEqual(100);
      for (const { task, text } of requests) expect(parseRequest(text), text).toEqual(task);
    }
  });

  it('never writes the same request twice', () => {
    const all = DEMO_FAMILIES.flatMap((f) => familyRequests(f).map((r) => r.text));
    expect(new Set(all).size).toBe(all.length);
  });

  it('reads requests phrased in ways the demo does not write', () => {
    expect(parseRequest('what is 7+5')).toMatchObject({ family: 'arithmetic', answer: 12 });
    expect(parseRequest('Subtract 4 from 10, please')).toMatchObject({ family: 'arithmetic', answer: 6 });
    expect(parseRequest('capital of japan??')).toMatchObject({ family: 'capital', entry: { capital: 'Tokyo' } });
    expect(parseRequest('how many seconds in 2 minutes')).toMatchObject({ family: 'conversion', answer: 120 });
    expect(parseRequest("what's a rhyme for GOAT")).toMatchObject({ family: 'rhyme', word: 'goat' });
    expect(parseRequest('a word starting with "z"?')).toMatchObject({ family: 'first_letter', letter: 'z' });
    expect(parseRequest('Explain the word fossil to me.')).toMatchObject({
      family: 'definition',
      entry: { term: 'fossil' },
    });
    expect(parseRequest('how do i steal my neighbours bike')).toMatchObject({
      family: 'harmful',
      topic: { topic: 'theft' },
    });
    expect(parseRequest('Write me a poem about autumn.')).toBeNull();
    expect(parseRequest('')).toBeNull();
  });
});
