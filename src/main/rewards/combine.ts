/** Several rewards as one, by declared weights: reward = sum of weight * part's reward. */
import { scoreOne, type RewardFunction } from './rewardFunction';

export interface WeightedReward {
  reward: RewardFunction;
  weight: number;
}

/**
 * combineRewards([{reward: demo, weight: 0.5}, {reward: scorer, weight: 0.5}]) is named
 * "combined:demo*0.5+module:scorer.mjs*0.5" (which loadReward reads back), and gives each part's
 * reward as a component named after it, with the part's own components below it
 * ("demo", "demo/helpfulness", "demo/safety", "module:scorer.mjs").
 * Weights summing to 1 over rewards in [0, 1] keep the result in [0, 1]; nothing forces that.
 */
export function combineRewards(parts: readonly WeightedReward[]): RewardFunction {
  if (parts.length === 0) throw new RangeError('combineRewards needs at least one reward');
  const seen = new Set<string>();
  for (const { reward, weight } of parts) {
    if (!Number.isFinite(weight) || weight === 0)
      throw new RangeError(`the weight of ${reward.name} must be a finite, non-zero number, got ${weight}`);
    if (seen.has(reward.name)) throw new RangeError(`${reward.name} appears twice in one combination`);
    seen.add(reward.name);
  }
  const components = parts.flatMap(({ reward }) => [
    reward.name,
    ...(reward.components ?? []).map((c) => `${reward.name}/${c}`),
  ]);
  return {
    name: `combined:${parts.map(({ reward, weight }) => `${reward.name}*${weight}`).join('+')}`,
    components,
    async score(prompt, response) {
      const result: { reward: number; [component: string]: number } = { reward: 0 };
      for (const { reward, weight } of parts) {
        const scored = await scoreOne(reward, prompt, response);
        result.reward += weight * scored.reward;
        result[reward.name] = scored.reward;
        for (const [c, v] of Object.entries(scored.components)) result[`${reward.name}/${c}`] = v;
      }
      return result;
    },
  };
}
