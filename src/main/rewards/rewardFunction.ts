/**
 * A reward function scores one (prompt, response) with a sequence-level number, optionally with
 * named components (the demo's helpfulness and safety). Its name is the source recorded with
 * every reward it gives, so a stored reward always says where it came from.
 */
import { AppError } from '../../shared/contract';

/** What score() may return: a number, or the reward with its named components. */
export type RewardValue = number | { reward: number; [component: string]: number };

export interface RewardFunction {
  /** Also the stored source: "demo", "module:scorer.mjs", "combined:demo*0.5+module:scorer.mjs*0.5". */
  readonly name: string;
  /** The components an object result carries besides `reward`, when it has any. */
  readonly components?: readonly string[];
  score(prompt: string, response: string): RewardValue | Promise<RewardValue>;
}

export interface Scored {
  reward: number;
  components: Record<string, number>;
}

/**
 * A reward function failed or gave a bad value. `source` names the function at fault (inside a
 * combination, the part, not the whole); scoreAll adds which prompt it was scoring.
 */
export class RewardFailure extends Error {
  constructor(
    readonly source: string,
    readonly detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'RewardFailure';
  }
}

/** Scores one item, checking the value: every failure comes out as a RewardFailure naming `fn`. */
export async function scoreOne(fn: RewardFunction, prompt: string, response: string): Promise<Scored> {
  let value: unknown;
  try {
    value = await fn.score(prompt, response);
  } catch (error) {
    if (error instanceof RewardFailure) throw error;
    throw new RewardFailure(fn.name, `score() threw: ${error instanceof Error ? error.message : String(error)}`);
  }
  return checkValue(fn, value);
}

function checkValue(fn: RewardFunction, value: unknown): Scored {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new RewardFailure(fn.name, `score() returned ${value}; a score must be a finite number`);
    if (fn.components && fn.components.length > 0)
      throw new RewardFailure(
        fn.name,
        `score() returned a bare number; expected {reward, ${fn.components.join(', ')}}`,
      );
    return { reward: value, components: {} };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RewardFailure(fn.name, `score() returned ${describe(value)}; a score must be a finite number`);
  }
  const fields = value as Record<string, unknown>;
  const reward = fields.reward;
  if (typeof reward !== 'number' || !Number.isFinite(reward)) {
    throw new RewardFailure(
      fn.name,
      `score() returned an object whose "reward" is ${describe(reward)}; it must be a finite number`,
    );
  }
  const components: Record<string, number> = {};
  for (const [key, v] of Object.entries(fields)) {
    if (key === 'reward') continue;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new RewardFailure(
        fn.name,
        `score() returned a component "${key}" of ${describe(v)}; components must be finite numbers`,
      );
    components[key] = v;
  }
  for (const name of fn.components ?? []) {
    if (!(name in components)) throw new RewardFailure(fn.name, `score() returned no component "${name}"`);
  }
  return { reward, components };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

export interface ScoredBatch {
  /** The function's name: store it as each reward's source. */
  source: string;
  rewards: number[];
  /** Each component's values, in item order. */
  components: Record<string, number[]>;
}

export interface ScoreAllOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Scores every item in order, one at a time (a user's async function may keep state between
 * calls). The first failure stops the batch with an AppError naming the function at fault and the
 * prompt index: `module:scorer.mjs: score() returned NaN; a score must be a finite number (prompt index 3)`.
 */
export async function scoreAll(
  fn: RewardFunction,
  items: readonly { prompt: string; response: string }[],
  options: ScoreAllOptions = {},
): Promise<ScoredBatch> {
  const rewards: number[] = [];
  const components: Record<string, number[]> = {};
  for (const [i, item] of items.entries()) {
    options.signal?.throwIfAborted();
    let scored: Scored;
    try {
      scored = await scoreOne(fn, item.prompt, item.response);
    } catch (error) {
      if (!(error instanceof RewardFailure)) throw error;
      throw new AppError('reward_failed', `${error.message} (prompt index ${i})`);
    }
    rewards.push(scored.reward);
    for (const [name, v] of Object.entries(scored.components)) {
      // A component missing from earlier items would misalign the columns: every item must give the same set.
      const column = (components[name] ??= []);
      if (column.length !== i)
        throw new AppError(
          'reward_failed',
          `${fn.name}: component "${name}" first appears at prompt index ${i}; every score needs the same components`,
        );
      column.push(v);
    }
    for (const [name, column] of Object.entries(components)) {
      if (column.length !== i + 1)
        throw new AppError(
          'reward_failed',
          `${fn.name}: component "${name}" is missing at prompt index ${i}; every score needs the same components`,
        );
    }
    options.onProgress?.(i + 1, items.length);
  }
  return { source: fn.name, rewards, components };
}
