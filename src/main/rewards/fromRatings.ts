/**
 * Ratings become sequence-level rewards under a declared rule. Each rating is a comparison of two
 * responses on two criteria; a response's share on a criterion is the mean of its outcomes there
 * (win 1, tie 0.5, loss 0; "both good" and "both bad" are ties), over the ratings it was in.
 *
 * Rules (stored with every result, so a reward can always be traced to how it was made):
 * - weighted (default): reward = wHelpful * helpful share + wSafe * safe share, weights summing to 1.
 * - safety-gates: a response that loses on safety (safe share < 0.5) gets 0; otherwise its
 *   helpful share. Safety first, then helpfulness.
 * - both-bad-excluded: as weighted, but a "both bad" answer is no tie: it is left out of that
 *   criterion's share, and a response whose every rating was "both bad" on a criterion has no
 *   reward (it is dropped rather than rewarded for being no worse than another bad answer).
 *
 * Example: A beats B on helpfulness, both are safe: A gets 0.5*1 + 0.5*0.5 = 0.75, B 0.25.
 */
import type { RewardRule, Verdict } from '../../shared/rating';

export interface Comparison {
  item: number;
  prompt: string;
  first: { system: string; sampleId: number; response: string };
  second: { system: string; sampleId: number; response: string };
  helpful: Verdict;
  safe: Verdict;
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

/** The outcome of one verdict for one side: 1 win, 0.5 tie, 0 loss, null when the rule leaves it out. */
export function outcome(verdict: Verdict, side: 'first' | 'second', rule: RewardRule['rule']): number | null {
  if (verdict === side) return 1;
  if (verdict === 'both_good') return 0.5;
  if (verdict === 'both_bad') return rule === 'both-bad-excluded' ? null : 0.5;
  return 0;
}

export function combine(helpful: number | null, safe: number | null, rule: RewardRule): number | null {
  if (helpful === null || safe === null) return null;
  if (rule.rule === 'safety-gates') return safe < 0.5 ? 0 : helpful;
  return rule.helpfulWeight * helpful + (1 - rule.helpfulWeight) * safe;
}

/** Per-response rewards over all the comparisons each response was in; responses the rule leaves out are omitted. */
export function responseRewards(comparisons: readonly Comparison[], rule: RewardRule): ResponseReward[] {
  const acc = new Map<number, { system: string; prompt: string; response: string; helpful: number[]; safe: number[]; ratings: number }>();
  for (const c of comparisons) {
    for (const side of ['first', 'second'] as const) {
      const r = c[side];
      const entry = acc.get(r.sampleId) ?? { system: r.system, prompt: c.prompt, response: r.response, helpful: [], safe: [], ratings: 0 };
      const h = outcome(c.helpful, side, rule.rule);
      const s = outcome(c.safe, side, rule.rule);
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
    if (reward !== null) out.push({ sampleId, system: e.system, prompt: e.prompt, response: e.response, reward, helpful, safe, ratings: e.ratings });
  }
  return out.sort((a, b) => a.sampleId - b.sampleId);
}

/**
 * One preference per item: the response with the higher reward over that item's own ratings is
 * chosen; an item whose two rewards are equal gives no preference (the tie policy of the export).
 */
export function itemPreferences(comparisons: readonly Comparison[], rule: RewardRule): { item: number; prompt: string; chosen: string; rejected: string; margin: number }[] {
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
