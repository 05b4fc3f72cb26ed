/** Reward functions: see README.md. */
export {
  BUILTIN_REWARDS,
  LENGTH_REWARD_WORDS,
  builtinReward,
  isBuiltinReward,
  type BuiltinRewardName,
} from './builtins';
export { combineRewards, type WeightedReward } from './combine';
export { MODULE_EXTENSIONS, loadModuleReward } from './moduleReward';
export {
  RewardFailure,
  scoreAll,
  scoreOne,
  type RewardFunction,
  type RewardValue,
  type ScoreAllOptions,
  type Scored,
  type ScoredBatch,
} from './rewardFunction';
export { loadReward, parseRewardSpec, type LoadRewardOptions, type RewardTerm } from './rewardSpec';
