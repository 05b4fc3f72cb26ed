/**
 * A reward named in text, as a run config, a CLI flag or a stored source names it:
 *   "demo"                                  a built-in
 *   "module:scorer.mjs"                     a user module in the project folder
 *   "rm:helpful-rm"                         a learned reward model in the project (rewardModel.ts)
 *   "label", "column"                       data, not functions: a run reads them from its dataset (alol/runData.ts)
 *   "demo*0.5+module:scorer.mjs*0.5"        a weighted combination ("combined:" in front is optional)
 * A combination's name is a spec for itself, so a stored source loads back into the same function.
 */
import { AppError } from '../../shared/contract';
import { BUILTIN_REWARDS, builtinReward, isBuiltinReward } from './builtins';
import { combineRewards } from './combine';
import { loadModuleReward, moduleRewardPath } from './moduleReward';
import { loadRewardModelReward } from './rewardModel';
import type { RewardFunction } from './rewardFunction';

export interface RewardTerm {
  name: string;
  /** Null when the spec gives none: allowed only for a reward on its own. */
  weight: number | null;
}

/** "demo*0.5+module:x.mjs*0.5" -> [{name: 'demo', weight: 0.5}, {name: 'module:x.mjs', weight: 0.5}] */
export function parseRewardSpec(spec: string): RewardTerm[] {
  const body = spec.trim().replace(/^combined:/, '');
  if (body === '')
    throw new AppError(
      'reward_spec',
      'no reward named: give a built-in (demo, ...), module:FILE, or a weighted sum like demo*0.5+module:FILE*0.5',
    );
  // A module path holding "+" or "*" cannot be told apart from the operators: such files need another name.
  const terms = body.split('+').map((text): RewardTerm => {
    const term = text.trim();
    const star = term.lastIndexOf('*');
    if (star === -1) return { name: term, weight: null };
    const weightText = term.slice(star + 1).trim();
    const weight = Number(weightText);
    if (weightText === '' || !Number.isFinite(weight) || weight === 0) {
      throw new AppError(
        'reward_spec',
        `"${spec}": the weight "${weightText}" of ${term.slice(0, star)} must be a finite, non-zero number`,
      );
    }
    return { name: term.slice(0, star).trim(), weight };
  });
  for (const term of terms)
    if (term.name === '') throw new AppError('reward_spec', `"${spec}": a term has no reward name`);
  if (terms.length > 1 && terms.some((t) => t.weight === null)) {
    throw new AppError(
      'reward_spec',
      `"${spec}": give every reward of a combination its weight, as in demo*0.5+length*0.5`,
    );
  }
  return terms;
}

export interface LoadRewardOptions {
  /** The project folder user modules and reward models are found in; without it, module: and rm: names are refused. */
  projectDir?: string;
  /** Starts the tensor backend before a reward model (rm:) loads; default: ALOL_BACKEND, else the best available. */
  initTensors?: () => Promise<unknown>;
}

/**
 * The scoring modules a reward spec names, checked without loading anything (moduleRewardPath):
 * a call that starts a job refuses a module outside the project, or a missing one, at once rather
 * than failing in the job.
 */
export function checkRewardModules(spec: string, projectDir: string): void {
  for (const term of parseRewardSpec(spec)) {
    const name = !term.name.includes(':') && /\.(mjs|js)$/.test(term.name) ? `module:${term.name}` : term.name;
    if (name.startsWith('module:')) moduleRewardPath(projectDir, name.slice('module:'.length));
  }
}

export async function loadReward(spec: string, options: LoadRewardOptions = {}): Promise<RewardFunction> {
  const terms = parseRewardSpec(spec);
  const only = terms[0];
  if (terms.length === 1 && only && only.weight === null) return resolveName(only.name, options);
  const parts = [];
  for (const term of terms) parts.push({ reward: await resolveName(term.name, options), weight: term.weight ?? 1 });
  try {
    return combineRewards(parts);
  } catch (error) {
    if (error instanceof RangeError) throw new AppError('reward_spec', `"${spec}": ${error.message}`);
    throw error;
  }
}

async function resolveName(name: string, options: LoadRewardOptions): Promise<RewardFunction> {
  // A bare FILE.mjs (as `alol train --reward FILE.mjs` takes it) is a module.
  if (!name.includes(':') && /\.(mjs|js)$/.test(name)) name = `module:${name}`;
  if (name.startsWith('module:')) {
    if (options.projectDir === undefined)
      throw new AppError('reward_spec', `${name}: user modules load only within a project`);
    return loadModuleReward(options.projectDir, name.slice('module:'.length));
  }
  if (name.startsWith('rm:')) {
    if (options.projectDir === undefined)
      throw new AppError('reward_spec', `${name}: reward models load only within a project`);
    return loadRewardModelReward(
      options.projectDir,
      name.slice('rm:'.length).trim(),
      options.initTensors ? { initTensors: options.initTensors } : {},
    );
  }
  if (name === 'label') {
    throw new AppError(
      'reward_spec',
      "label is a preference pair's own label (chosen 1, rejected 0), not a function: it rewards a pairs dataset's responses in training only (alol train --pairs both --reward label), on its own, not in a sum",
    );
  }
  if (name.startsWith('column:')) {
    throw new AppError(
      'reward_spec',
      `${name} names a column of imported data, not a function: it cannot score new responses`,
    );
  }
  if (isBuiltinReward(name)) return builtinReward(name);
  throw new AppError(
    'reward_spec',
    `no reward named "${name}": the built-ins are ${BUILTIN_REWARDS.join(', ')}; a user module is module:FILE; a trained reward model is rm:NAME`,
  );
}
