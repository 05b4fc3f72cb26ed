/** Ratings to rewards under each rule, against values computed by hand (see fromRatings.ts). */
import { describe, expect, it } from 'vitest';
import { itemPreferences, responseRewards, type Comparison } from '../../src/main/rating/rewardRules';
import { RewardRule } from '../../src/shared/rating';

const A = { system: 'alpha', sampleId: 1, response: 'a' };
const B = { system: 'beta', sampleId: 2, response: 'b' };
const C = { system: 'alpha', sampleId: 3, response: 'c' };
const D = { system: 'beta', sampleId: 4, response: 'd' };

function rewards(comparisons: Comparison[], rule: RewardRule['rule'], helpfulWeight = 0.5): Record<number, number> {
  return Object.fromEntries(responseRewards(comparisons, { rule, helpfulWeight }).map((r) => [r.sampleId, r.reward]));
}

describe('ratings to rewards', () => {
  it('absolute is the default rule', () => {
    expect(RewardRule.parse({})).toEqual({ rule: 'absolute', helpfulWeight: 0.5 });
  });

  it('absolute: both bad is 0 for both, both good 1 for both, where the relative rules give both 0.5', () => {
    const bothBad: Comparison = { item: 1, prompt: 'p', first: A, second: B, helpful: 'both_bad', safe: 'both_bad' };
    const bothGood: Comparison = { item: 2, prompt: 'q', first: C, second: D, helpful: 'both_good', safe: 'both_good' };
    expect(rewards([bothBad, bothGood], 'absolute')).toEqual({ 1: 0, 2: 0, 3: 1, 4: 1 });
    expect(rewards([bothBad, bothGood], 'weighted')).toEqual({ 1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5 });
    // Equal rewards give no preference pair, under either rule.
    expect(itemPreferences([bothBad, bothGood], { rule: 'absolute', helpfulWeight: 0.5 })).toEqual([]);
  });

  it('absolute: a slight win is 0.75 against 0.25, a clear one 1 against 0, weighted by criterion', () => {
    // A slightly more helpful, both safe: A = 0.5*0.75 + 0.5*1 = 0.875, B = 0.5*0.25 + 0.5*1 = 0.625.
    const slight: Comparison = {
      item: 1,
      prompt: 'p',
      first: A,
      second: B,
      helpful: 'first',
      safe: 'both_good',
      helpfulStrength: 'slight',
    };
    expect(rewards([slight], 'absolute')).toEqual({ 1: 0.875, 2: 0.625 });
    // B clearly more helpful, A safer (strong): with weight 0.7, A = 0.7*0 + 0.3*1 = 0.3, B = 0.7*1 + 0.3*0 = 0.7.
    const clear: Comparison = {
      item: 1,
      prompt: 'p',
      first: A,
      second: B,
      helpful: 'second',
      safe: 'first',
      helpfulStrength: 'clear',
      safeStrength: 'strong',
    };
    const r = rewards([clear], 'absolute', 0.7);
    expect(r[1]).toBeCloseTo(0.3, 12);
    expect(r[2]).toBeCloseTo(0.7, 12);
    // Strength is ignored by the relative rules: weighted gives A = 0.5*1 + 0.5*0.5 = 0.75 whatever the strength.
    expect(rewards([slight], 'weighted')).toEqual({ 1: 0.75, 2: 0.25 });
  });

  it('absolute: shares average over the ratings a response was in', () => {
    // A against B twice: once a clear helpful win with both safe, once both bad on both.
    // A: helpful (1 + 0)/2 = 0.5, safe (1 + 0)/2 = 0.5 -> 0.5; B: helpful (0 + 0)/2 = 0, safe 0.5 -> 0.25.
    const win: Comparison = { item: 1, prompt: 'p', first: A, second: B, helpful: 'first', safe: 'both_good' };
    const bad: Comparison = { item: 1, prompt: 'p', first: A, second: B, helpful: 'both_bad', safe: 'both_bad' };
    expect(rewards([win, bad], 'absolute')).toEqual({ 1: 0.5, 2: 0.25 });
    expect(itemPreferences([win, bad], { rule: 'absolute', helpfulWeight: 0.5 })).toEqual([
      { item: 1, prompt: 'p', chosen: 'a', rejected: 'b', margin: 0.25 },
    ]);
  });

  it('absolute-safety-gates: a response that loses on safety gets 0, else its absolute helpful share', () => {
    // A more helpful (slight) but B safer: A's safe share 0 -> 0; B's safe share 1 -> its helpful share 0.25.
    const c: Comparison = {
      item: 1,
      prompt: 'p',
      first: A,
      second: B,
      helpful: 'first',
      safe: 'second',
      helpfulStrength: 'slight',
    };
    expect(rewards([c], 'absolute-safety-gates')).toEqual({ 1: 0, 2: 0.25 });
    // Both unsafe: both lose on safety under absolute outcomes (0 < 0.5), so both get 0.
    const unsafe: Comparison = { item: 1, prompt: 'p', first: A, second: B, helpful: 'first', safe: 'both_bad' };
    expect(rewards([unsafe], 'absolute-safety-gates')).toEqual({ 1: 0, 2: 0 });
    expect(rewards([unsafe], 'safety-gates')).toEqual({ 1: 1, 2: 0 });
  });

  it('both-bad-excluded leaves both bad out, and drops a response with nothing else', () => {
    const bad: Comparison = { item: 1, prompt: 'p', first: A, second: B, helpful: 'both_bad', safe: 'both_bad' };
    expect(rewards([bad], 'both-bad-excluded')).toEqual({});
  });
});
