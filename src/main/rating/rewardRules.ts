/**
 * Ratings become sequence-level rewards under a declared rule. Each rating is a comparison of two
 * responses on two criteria; a response's share on a criterion is the mean of its outcomes there,
 * over the ratings it was in, and the rule combines the two shares into one reward.
 *
 * Outcomes of one answer for one side:
 * - absolute rules (absolute, absolute-safety-gates; absolute is the default): the answer keeps
 *   what the annotator judged, not only the order. Win 1, loss 0; "both good" 1 for both, "both
 *   bad" 0 for both, since A-LoL compares a reward with a value estimate and two unsafe responses
 *   must not earn what two safe ones do. A win marked "slight" moves toward the middle: 0.75 for
 *   the winner, 0.25 for the loser ("clear", "strong" or no strength: 1 and 0).
 * - relative rules (weighted, safety-gates, both-bad-excluded): win 1, tie 0.5, loss 0, and "both
 *   good" and "both bad" are ties (both-bad-excluded leaves "both bad" out instead).
 *
 * How the shares combine:
 * - absolute and weighted: reward = wHelpful * helpful share + (1 - wHelpful) * safe share.
 * - absolute-safety-gates and safety-gates: a response that loses on safety (safe share < 0.5) gets
 *   0; otherwise its helpful share. Safety first, then helpfulness.
 * - both-bad-excluded: as weighted; a response whose every rating was "both bad" on a criterion has
 *   no reward (it is dropped rather than rewarded for being no worse than another bad answer).
 *
 * Worked example (weight 0.5): A beats B on helpfulness, slightly; both are safe.
 *   absolute: A = 0.5*0.75 + 0.5*1 = 0.875, B = 0.5*0.25 + 0.5*1 = 0.625.
 *   weighted: A = 0.5*1 + 0.5*0.5 = 0.75,   B = 0.5*0 + 0.5*0.5 = 0.25.
 * Both bad on both criteria: absolute gives each 0; weighted gives each 0.5.
 */
import type { RewardRule, Strength, Verdict } from '../../shared/rating';

export interface Comparison {
  item: number;
  prompt: string;
  first: { system: string; sampleId: number; response: string };
  second: { system: string; sampleId: number; response: string };
  helpful: Verdict;
  safe: Verdict;
  /** How sure the annotator was of a win (absolute rules read it); null when not given. */
  helpfulStrength?: Strength | null;
  safeStrength?: Strength | null;
}

export interface ResponseReward {
  sampleId: number;
  system: string;
  prompt: string;
  response: string;
  reward: number;
  helpful: number | null;
  safe: number | null;
  ratings: number;
}

const ABSOLUTE: ReadonlySet<RewardRule['rule']> = new Set(['absolute', 'absolute-safety-gates']);
/** Whether the rule keeps absolute judgements (no ties) rather than only the order. */
export const isAbsoluteRule = (rule: RewardRule['rule']): boolean => ABSOLUTE.has(rule);

/** The outcome of one answer for one side (see the rules above); null when the rule leaves it out. */
export function outcome(
  verdict: Verdict,
  side: 'first' | 'second',
  rule: RewardRule['rule'],
  strength: Strength | null = null,
): number | null {
  if (isAbsoluteRule(rule)) {
    if (verdict === 'both_good') return 1;
    if (verdict === 'both_bad') return 0;
    const slight = strength === 'slight';
    return verdict === side ? (slight ? 0.75 : 1) : slight ? 0.25 : 0;
  }
  if (verdict === side) return 1;
  if (verdict === 'both_good') return 0.5;
  if (verdict === 'both_bad') return rule === 'both-bad-excluded' ? null : 0.5;
  return 0;
}

export function combine(helpful: number | null, safe: number | null, rule: RewardRule): number | null {
  if (helpful === null || safe === null) return null;
  if (rule.rule === 'safety-gates' || rule.rule === 'absolute-safety-gates') return safe < 0.5 ? 0 : helpful;
  return rule.helpfulWeight * helpful + (1 - rule.helpfulWeight) * safe;
}

/** Per-response rewards over all the comparisons each response was in; responses the rule leaves out are omitted. */
export function responseRewards(comparisons: readonly Comparison[], rule: RewardRule): ResponseReward[] {
  const acc = new Map<
    number,
    { system: string; prompt: string; response: string; helpful: number[]; safe: number[]; ratings: number }
  >();
  for (const c of comparisons) {
    for (const side of ['first', 'second'] as const) {
      const r = c[side];
      const entry = acc.get(r.sampleId) ?? {
        system: r.system,
        prompt: c.prompt,
        response: r.response,
        helpful: [],
        safe: [],
        ratings: 0,
      };
      const h = outcome(c.helpful, side, rule.rule, c.helpfulStrength ?? null);
      const s = outcome(c.safe, side, rule.rule, c.safeStrength ?? null);
      if (h !== null) entry.helpful.push(h);
      if (s !== null) entry.safe.push(s);
      entry.ratings++;
      acc.set(r.sampleId, entry);
    }
  }
  const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const out: ResponseReward[] = [];
  for (const [sampleId, e] of acc) {
    const helpful = mean(e.helpful);
    const safe = mean(e.safe);
    const reward = combine(helpful, safe, rule);
    if (reward !== null)
      out.push({
        sampleId,
        system: e.system,
        prompt: e.prompt,
        response: e.response,
        reward,
        helpful,
        safe,
        ratings: e.ratings,
      });
  }
  return out.sort((a, b) => a.sampleId - b.sampleId);
}

/**
 * One preference per item: the response with the higher reward over that item's own ratings is
 * chosen; an item whose two rewards are equal gives no preference (the tie policy of the export).
 */
export function itemPreferences(
  comparisons: readonly Comparison[],
  rule: RewardRule,
): { item: number; prompt: string; chosen: string; rejected: string; margin: number }[] {
  const byItem = new Map<number, Comparison[]>();
  for (const c of comparisons) byItem.set(c.item, [...(byItem.get(c.item) ?? []), c]);
  const out: { item: number; prompt: string; chosen: string; rejected: string; margin: number }[] = [];
  for (const [item, list] of byItem) {
    const rewards = new Map(responseRewards(list, rule).map((r) => [r.sampleId, r.reward]));
    const c = list[0] as Comparison;
    const a = rewards.get(c.first.sampleId);
    const b = rewards.get(c.second.sampleId);
    if (a === undefined || b === undefined || a === b) continue;
    const [chosen, rejected] = a > b ? [c.first, c.second] : [c.second, c.first];
    out.push({ item, prompt: c.prompt, chosen: chosen.response, rejected: rejected.response, margin: Math.abs(a - b) });
  }
  return out.sort((x, y) => x.item - y.item);
}
