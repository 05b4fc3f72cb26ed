import { describe, expect, it } from 'vitest';
import { describeSample, tokenizerSample } from '../../../src/main/lm/tokenizer/trainingSample';

function* numbered(n: number): Generator<string> {
  for (let i = 0; i < n; i++) yield `text ${i} `.padEnd(20, '.');
}

describe('tokenizerSample', () => {
  it('keeps every text, in order, while they fit the budget', () => {
    const s = tokenizerSample(numbered(50), { maxChars: 1000, seed: 1 });
    expect(s).toMatchObject({ totalTexts: 50, totalChars: 1000, sampled: false });
    expect(s.texts).toEqual([...numbered(50)]);
    expect(describeSample(s, 1)).toBe('all 50 texts');
  });

  it('samples 500,000 texts down to the budget, seeded, from the whole stream rather than its start', () => {
    const s = tokenizerSample(numbered(500_000), { maxChars: 200_000, seed: 7, maxTexts: 20_000 });
    expect(s.sampled).toBe(true);
    expect(s.totalTexts).toBe(500_000);
    expect(s.totalChars).toBe(500_000 * 20);
    // 20-character texts: exactly 10,000 fit 200,000 characters.
    expect(s.texts).toHaveLength(10_000);
    expect(new Set(s.texts).size).toBe(10_000);
    const indices = s.texts.map((t) => Number(/text (\d+)/.exec(t)?.[1]));
    const late = indices.filter((i) => i >= 400_000).length;
    // Uniform over the stream: about a fifth come from the last 100,000 (binomial sd ~40).
    expect(late).toBeGreaterThan(1800);
    expect(late).toBeLessThan(2200);
    expect(tokenizerSample(numbered(500_000), { maxChars: 200_000, seed: 7, maxTexts: 20_000 }).texts).toEqual(s.texts);
    expect(tokenizerSample(numbered(500_000), { maxChars: 200_000, seed: 8, maxTexts: 20_000 }).texts).not.toEqual(
      s.texts,
    );
    expect(describeSample(s, 7)).toBe('a sample (seed 7) of 10,000 of 500,000 texts (0.2 of 10.0 M characters)');
  });

  it('keeps one text even when it alone is over the budget', () => {
    const s = tokenizerSample(['x'.repeat(50), 'y'.repeat(60)], { maxChars: 10, seed: 0 });
    expect(s.sampled).toBe(true);
    expect(s.texts).toHaveLength(1);
  });
});
