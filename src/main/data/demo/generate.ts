/**
 * The built-in demo task: single-turn HH dialogues whose offline replies are mostly flawed, built
 * so that imitating them goes wrong. For most prompts the most frequent reply is one flawed text,
 * repeated (behaviour cloning learns it and greedy decoding repeats it); good replies are present
 * but rarer, which is the data A-LoL's "leftover lunch" is made of.
 *
 * With the defaults: 600 prompts (400 train, 100 validation, 100 test; no prompt in two splits),
 * 8 replies each: 3 copies of the dominant reply, then for a trapped prompt (80%) 2 good replies
 * and 3 other flaws, for the rest 5 flaws. Deterministic in the seed; a prompt's replies depend
 * only on the seed and the prompt, so growing the task keeps the replies it had.
 */
import type { ParsedExample, ParsedPair } from '../import/parseFile';
import { Rng } from '../../core/rng';
import {
  GOOD_VARIANTS,
  PRIMARY_FLAW,
  flawedResponse,
  flawsFor,
  goodResponse,
  type FlawKind,
  type ResponseKind,
} from './responses';
import { DEMO_WEIGHTS, scoreDemo, type DemoWeights } from './score';
import { DEMO_FAMILIES, familyRequests, hhPrompt, type DemoFamily, type Request, type Task } from './tasks';

export const DEMO_SPLITS = ['train', 'validation', 'test'] as const;
export type DemoSplit = (typeof DEMO_SPLITS)[number];

export interface DemoOptions {
  seed: number;
  /** Prompts in the training split (default 400: 3,200 rows at 8 replies each). */
  trainPrompts?: number;
  /** Prompts held out for validation, e.g. value-head targets (default 100). */
  validationPrompts?: number;
  /** Prompts held out for the final evaluation (default 100). */
  testPrompts?: number;
  /** Offline replies per prompt, 3 to 64 (default 8). */
  responsesPerPrompt?: number;
  /** The share of prompts whose most frequent reply is flawed, in [0, 1] (default 0.8). */
  trapRate?: number;
  /** How helpfulness and safety combine into the stored reward (default 0.5 each, source "demo"). */
  weights?: DemoWeights;
}

export interface DemoPrompt {
  prompt: string;
  split: DemoSplit;
  family: DemoFamily;
}

export interface DemoTask {
  /** Every reply of every prompt, splits in order; metadata {split, family, kind, helpfulness, safety}. */
  examples: ParsedExample[];
  /** Each distinct good reply against each distinct flawed one of the same prompt; metadata {split, family, chosenKind, rejectedKind}. */
  pairs: ParsedPair[];
  prompts: DemoPrompt[];
}

export const DEMO_DEFAULTS = {
  trainPrompts: 400,
  validationPrompts: 100,
  testPrompts: 100,
  responsesPerPrompt: 8,
  trapRate: 0.8,
} as const;

/** The share of each family among the prompts; harmful requests are the largest single family. */
export const FAMILY_WEIGHTS: Readonly<Record<DemoFamily, number>> = {
  arithmetic: 0.18,
  capital: 0.12,
  conversion: 0.14,
  rhyme: 0.12,
  first_letter: 0.12,
  definition: 0.12,
  harmful: 0.2,
};

/** Of the trapped prompts, the share dominated by their family's primary flaw (the rest by another flaw). */
const PRIMARY_FLAW_RATE = 0.7;

export function generateDemoTask(options: DemoOptions): DemoTask {
  const sizes: Record<DemoSplit, number> = {
    train: options.trainPrompts ?? DEMO_DEFAULTS.trainPrompts,
    validation: options.validationPrompts ?? DEMO_DEFAULTS.validationPrompts,
    test: options.testPrompts ?? DEMO_DEFAULTS.testPrompts,
  };
  const perPrompt = options.responsesPerPrompt ?? DEMO_DEFAULTS.responsesPerPrompt;
  const trapRate = options.trapRate ?? DEMO_DEFAULTS.trapRate;
  const weights = options.weights ?? DEMO_WEIGHTS;
  // Options come from code or a checked form: a wrong one is a bug, so it throws.
  if (!Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  for (const split of DEMO_SPLITS) {
    if (!Number.isSafeInteger(sizes[split]) || sizes[split] < 0)
      throw new RangeError(`${split}Prompts must be a whole number >= 0, got ${sizes[split]}`);
  }
  if (!Number.isSafeInteger(perPrompt) || perPrompt < 3 || perPrompt > 64) {
    throw new RangeError(`responsesPerPrompt must be a whole number from 3 to 64, got ${perPrompt}`);
  }
  if (!(trapRate >= 0 && trapRate <= 1)) throw new RangeError(`trapRate must be in [0, 1], got ${trapRate}`);

  // Other weights make another reward: its source says so, in the form loadReward reads back.
  const rewardSource =
    weights.helpfulness === DEMO_WEIGHTS.helpfulness && weights.safety === DEMO_WEIGHTS.safety
      ? 'demo'
      : `combined:demo/helpfulness*${weights.helpfulness}+demo/safety*${weights.safety}`;
  const bySplit = choosePrompts(options.seed, sizes);
  const examples: ParsedExample[] = [];
  const pairs: ParsedPair[] = [];
  const prompts: DemoPrompt[] = [];
  for (const split of DEMO_SPLITS) {
    for (const request of bySplit[split]) {
      const prompt = hhPrompt(request.text);
      const family = request.task.family;
      prompts.push({ prompt, split, family });
      const replies = writeReplies(request.task, new Rng(promptSeed(options.seed, prompt)), perPrompt, trapRate);
      const scored = replies.map((r) => ({ ...r, score: scoreDemo(prompt, r.text, weights) }));
      for (const r of scored) {
        examples.push({
          line: examples.length + 1,
          prompt,
          response: r.text,
          reward: r.score.reward,
          rewardSource,
          metadata: { split, family, kind: r.kind, helpfulness: r.score.helpfulness, safety: r.score.safety },
        });
      }
      const distinct = [...new Map(scored.map((r) => [r.text, r])).values()];
      for (const chosen of distinct.filter((r) => r.kind === 'good')) {
        for (const rejected of distinct.filter((r) => r.kind !== 'good')) {
          pairs.push({
            line: pairs.length + 1,
            prompt,
            chosen: chosen.text,
            rejected: rejected.text,
            metadata: { split, family, chosenKind: chosen.kind, rejectedKind: rejected.kind },
          });
        }
      }
    }
  }
  return { examples, pairs, prompts };
}

interface Reply {
  text: string;
  kind: ResponseKind;
}

/**
 * `perPrompt` replies: ceil(3n/8) copies of the dominant one, which for a trapped prompt is a
 * systematic flaw, then floor(n/4) good ones in distinct phrasings (trapped) and flaws of the
 * other kinds, one each in turn. Shuffled, so copies are not adjacent.
 */
function writeReplies(task: Task, rng: Rng, perPrompt: number, trapRate: number): Reply[] {
  const dominantCopies = Math.ceil((3 * perPrompt) / 8);
  const goodCount = Math.max(1, Math.floor(perPrompt / 4));
  const flaws = flawsFor(task.family);
  const replies: Reply[] = [];
  const trapped = rng.uniform() < trapRate;
  let others: FlawKind[];
  let flawCount: number;
  if (trapped) {
    const primary = PRIMARY_FLAW[task.family];
    const dominant =
      rng.uniform() < PRIMARY_FLAW_RATE
        ? primary
        : pick(
            rng,
            flaws.filter((k) => k !== primary),
          );
    const text = flawedResponse(task, dominant, rng, true);
    for (let i = 0; i < dominantCopies; i++) replies.push({ text, kind: dominant });
    const variants = rng.shuffle(Array.from({ length: GOOD_VARIANTS }, (_, i) => i));
    for (let i = 0; i < goodCount; i++)
      replies.push({ text: goodResponse(task, variants[i % variants.length]!), kind: 'good' });
    others = rng.shuffle(flaws.filter((k) => k !== dominant));
    flawCount = perPrompt - dominantCopies - goodCount;
  } else {
    const text = goodResponse(task, rng.int(GOOD_VARIANTS));
    for (let i = 0; i < dominantCopies; i++) replies.push({ text, kind: 'good' });
    others = rng.shuffle([...flaws]);
    flawCount = perPrompt - dominantCopies;
  }
  for (let i = 0; i < flawCount; i++) {
    const kind = others[i % others.length]!;
    replies.push({ text: flawedResponse(task, kind, rng, false), kind });
  }
  return rng.shuffle(replies);
}

/** Each family's share of every split, as close to FAMILY_WEIGHTS as each family's capacity allows. */
function choosePrompts(seed: number, sizes: Record<DemoSplit, number>): Record<DemoSplit, Request[]> {
  const rng = new Rng(seed);
  const total = sizes.train + sizes.validation + sizes.test;
  const capacity = DEMO_FAMILIES.map((f) => familyRequests(f).length);
  const quotas = allocate(
    total,
    DEMO_FAMILIES.map((f) => FAMILY_WEIGHTS[f]),
    capacity,
  );
  const pools = DEMO_FAMILIES.map((f, i) => rng.shuffle([...familyRequests(f)]).slice(0, quotas[i]));
  const result = { train: [], validation: [], test: [] } as Record<DemoSplit, Request[]>;
  // Small splits first, so each gets its share of every family before training takes the rest.
  for (const split of ['test', 'validation', 'train'] as const) {
    const counts = apportion(
      sizes[split],
      pools.map((p) => p.length),
    );
    const chosen = pools.flatMap((pool, i) => pool.splice(0, counts[i]));
    result[split] = rng.shuffle(chosen);
  }
  return result;
}

/** `total` split by `weights`, no share over its capacity; the excess goes to families with room. */
function allocate(total: number, weights: readonly number[], capacity: readonly number[]): number[] {
  const room = capacity.reduce((a, b) => a + b, 0);
  if (total > room) throw new RangeError(`the demo task has ${room} distinct prompts; ${total} were asked for`);
  const quotas = weights.map(() => 0);
  let left = total;
  while (left > 0) {
    const open = weights.map((w, i) => (quotas[i]! < capacity[i]! ? w : 0));
    const shares = apportion(left, open);
    for (let i = 0; i < quotas.length; i++) {
      const take = Math.min(shares[i]!, capacity[i]! - quotas[i]!);
      quotas[i]! += take;
      left -= take;
    }
  }
  return quotas;
}

/** `n` split in proportion to `weights` by largest remainder: whole numbers summing to n. */
function apportion(n: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (n === 0 || sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (n * w) / sum);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (weights[i]! > 0) {
      counts[i]!++;
      left--;
    }
  }
  return counts;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** The seed mixed with the prompt's text (FNV-1a), so a prompt's replies do not depend on its neighbours. */
function promptSeed(seed: number, prompt: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  for (let i = 0; i < prompt.length; i++) h = Math.imul(h ^ prompt.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
