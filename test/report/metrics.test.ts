/** The evaluation figures against values worked out by hand. */
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  aggregateMetrics,
  distinctN,
  formatSpread,
  lengthInWords,
  mean,
  sampleSd,
  summarizeResponses,
  whitespaceTokens,
} from '../../src/main/report/index';

describe('tokens and length', () => {
  it('splits on any whitespace, lower-cased, ignoring leading and trailing space', () => {
    expect(whitespaceTokens('  The Cat\tsat.\n\nOn  it ')).toEqual(['the', 'cat', 'sat.', 'on', 'it']);
    expect(whitespaceTokens('')).toEqual([]);
    expect(whitespaceTokens(' \n ')).toEqual([]);
  });
  it('counts words as whitespace tokens: punctuation stays attached', () => {
    expect(lengthInWords(' 7 plus 5 is 12.')).toBe(5);
    expect(lengthInWords("I'm sorry, but I can't help with that.")).toBe(8);
    expect(lengthInWords('')).toBe(0);
  });
});

describe('distinct-n (corpus level)', () => {
  it('counts unique over all n-grams across the corpus', () => {
    // unigrams: the cat / the dog -> {the, cat, dog} of 4
    expect(distinctN(['the cat', 'the dog'], 1)).toBe(3 / 4);
    // bigrams: "the cat", "the dog" -> 2 of 2
    expect(distinctN(['the cat', 'the dog'], 2)).toBe(1);
  });
  it('lower-cases before comparing', () => {
    expect(distinctN(['The cat', 'the CAT'], 1)).toBe(2 / 4);
    expect(distinctN(['The cat', 'the CAT'], 2)).toBe(1 / 2);
  });
  it('never forms n-grams across two responses', () => {
    // "a b" and "c": bigrams only "a b" (not "b c"): 1 of 1
    expect(distinctN(['a b', 'c'], 2)).toBe(1);
    // trigrams: none in either text
    expect(distinctN(['a b', 'c'], 3)).toBe(0);
  });
  it('counts repeats inside one response', () => {
    // "a a a a": unigrams 1/4, bigrams "a a" x3 -> 1/3, trigrams x2 -> 1/2
    expect(distinctN(['a a a a'], 1)).toBe(1 / 4);
    expect(distinctN(['a a a a'], 2)).toBe(1 / 3);
    expect(distinctN(['a a a a'], 3)).toBe(1 / 2);
  });
  it('a worked example over three responses', () => {
    const texts = ['I can not help.', 'I can help you', 'Sure: I can.'];
    // unigrams: i can not help. | i can help you | sure: i can.  -> 4 + 4 + 3 = 11 in all;
    // unique: i, can, not, help., help, you, sure:, can. -> 8
    expect(distinctN(texts, 1)).toBeCloseTo(8 / 11, 12);
    // bigrams: (i can)(can not)(not help.) | (i can)(can help)(help you) | (sure: i)(i can.) -> 8; unique 7
    expect(distinctN(texts, 2)).toBeCloseTo(7 / 8, 12);
    // trigrams: (i can not)(can not help.) | (i can help)(can help you) | (sure: i can.) -> 5, all unique
    expect(distinctN(texts, 3)).toBe(1);
  });
  it('is 0 for an empty corpus and refuses a bad n', () => {
    expect(distinctN([], 1)).toBe(0);
    expect(distinctN(['', '  '], 1)).toBe(0);
    expect(() => distinctN(['a'], 0)).toThrow(RangeError);
    expect(() => distinctN(['a'], 1.5)).toThrow(RangeError);
  });
});

describe('means and spread across seeds', () => {
  it('mean and sample sd (n - 1)', () => {
    expect(mean([0.5, 0.7, 0.9])).toBeCloseTo(0.7, 12);
    // deviations -0.2, 0, 0.2: squares 0.08 / 2 = 0.04 -> sd 0.2
    expect(sampleSd([0.5, 0.7, 0.9])).toBeCloseTo(0.2, 12);
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares 32, / 7
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleSd([3, 3])).toBe(0);
  });
  it('sd is undefined (null) for one seed, and a mean of nothing throws', () => {
    expect(sampleSd([0.4])).toBeNull();
    expect(aggregate([0.4])).toEqual({ mean: 0.4, sd: null, n: 1 });
    expect(() => mean([])).toThrow(RangeError);
  });
  it('formats mean ± sd', () => {
    expect(formatSpread(aggregate([0.5, 0.7, 0.9]))).toBe('0.700 ± 0.200');
    expect(formatSpread(aggregate([12.25]), 1)).toBe('12.3');
  });
});

describe('summarizeResponses', () => {
  it('averages the scores and lengths and computes distinct-n over the set', () => {
    const m = summarizeResponses([
      { response: ' 7 plus 5 is 12.', reward: 1, helpfulness: 1, safety: 1 },
      { response: " I'm sorry, but I can't help with that.", reward: 0.525, helpfulness: 0.05, safety: 1 },
      { response: ' Sure! Wait until nobody is watching.', reward: 0.1, helpfulness: 0.2, safety: 0 },
    ]);
    expect(m.count).toBe(3);
    expect(m.reward).toBeCloseTo((1 + 0.525 + 0.1) / 3, 12);
    expect(m.helpfulness).toBeCloseTo((1 + 0.05 + 0.2) / 3, 12);
    expect(m.safety).toBeCloseTo(2 / 3, 12);
    // 5 + 8 + 6 words
    expect(m.words).toBeCloseTo(19 / 3, 12);
    // unigrams: 19, all distinct but "is" twice -> 18 unique
    expect(m.distinct1).toBeCloseTo(18 / 19, 12);
    // bigrams: 4 + 7 + 5 = 16, all distinct
    expect(m.distinct2).toBe(1);
    expect(m.distinct3).toBe(1);
  });
  it('aggregates every metric over seeds', () => {
    const seed = (reward: number, words: string) =>
      summarizeResponses([{ response: words, reward, helpfulness: reward, safety: 1 }]);
    const agg = aggregateMetrics([seed(0.5, 'a b'), seed(0.7, 'a a a'), seed(0.9, 'a')]);
    expect(agg.reward.mean).toBeCloseTo(0.7, 12);
    expect(agg.reward.sd).toBeCloseTo(0.2, 12);
    expect(agg.safety).toEqual({ mean: 1, sd: 0, n: 3 });
    // words 2, 3, 1: mean 2, sd 1
    expect(agg.words.mean).toBe(2);
    expect(agg.words.sd).toBeCloseTo(1, 12);
    // distinct-1: 1, 1/3, 1 -> mean 7/9
    expect(agg.distinct1.mean).toBeCloseTo(7 / 9, 12);
    expect(() => aggregateMetrics([])).toThrow(RangeError);
    expect(() => summarizeResponses([])).toThrow(RangeError);
  });
});
