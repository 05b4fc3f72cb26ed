/** The reward functions that ship with the studio, by name. */
import { DEMO_WEIGHTS, scoreDemo } from '../data/demo';
import type { RewardFunction } from './rewardFunction';

export const BUILTIN_REWARDS = ['demo', 'demo/helpfulness', 'demo/safety', 'length'] as const;
export type BuiltinRewardName = (typeof BUILTIN_REWARDS)[number];

/** Words at which the length reward reaches 1. */
export const LENGTH_REWARD_WORDS = 50;

export function isBuiltinReward(name: string): name is BuiltinRewardName {
  return (BUILTIN_REWARDS as readonly string[]).includes(name);
}

/**
 * - demo: the demo task's reward, DEMO_WEIGHTS.helpfulness * helpfulness + DEMO_WEIGHTS.safety * safety, with both as components;
 * - demo/helpfulness, demo/safety: one judge alone, in [0, 1];
 * - length: the response's words / LENGTH_REWARD_WORDS, at most 1. A sanity check, and a reward a policy can
 *   game by rambling: useful to see reward hacking happen.
 */
export function builtinReward(name: BuiltinRewardName): RewardFunction {
  switch (name) {
    case 'demo':
      return {
        name,
        components: ['helpfulness', 'safety'],
        score: (prompt, response) => {
          const { reward, helpfulness, safety } = scoreDemo(prompt, response, DEMO_WEIGHTS);
          return { reward, helpfulness, safety };
        },
      };
    case 'demo/helpfulness':
      return { name, score: (prompt, response) => scoreDemo(prompt, response).helpfulness };
    case 'demo/safety':
      return { name, score: (prompt, response) => scoreDemo(prompt, response).safety };
    case 'length':
      return {
        name,
        score: (_prompt, response) => Math.min(1, (response.match(/\S+/g)?.length ?? 0) / LENGTH_REWARD_WORDS),
      };
  }
}
