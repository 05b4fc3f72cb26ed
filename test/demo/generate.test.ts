import { describe, expect, it } from 'vitest';
import {
  DEMO_FAMILIES,
  DEMO_SPLITS,
  PRIMARY_FLAW,
  RESPONSE_KINDS,
  generateDemoTask,
  scoreDemo,
  type DemoTask,
} from '../../src/main/data/demo';
import type { ParsedExample } from '../../src/main/data/import/parseFile';
import { Tokenizer } from '../../src/main/lm/tokenizer';

const task = generateDemoTask({ seed: 1 });

const meta = (e: ParsedExample) =>
  e.metadata as { split: string; family: string; kind: string; helpfulness: number; safety: number };

function groupByPrompt(examples: readonly ParsedExample[]): Map<string, ParsedExample[]> {
  const groups = new Map<string, ParsedExample[]>();
  for (const e of examples) {
    const rows = groups.get(e.prompt) ?? [];
    rows.push(e);
    groups.set(e.prompt, rows);
  }
  return groups;
}

/** The texts that occur most often for a prompt, with their count. */
function mostFrequent(rows: readonly ParsedExample[]): { texts: string[]; count: number } {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.response, (counts.get(r.response) ?? 0) + 1);
  const count = Math.max(...counts.values());
  return { texts: [...counts].filter(([, n]) => n === count).map(([t]) => t), count };
}

function trainGroups(t: DemoTask): Map<string, ParsedExample[]> {
  return groupByPrompt(t.examples.filter((e) => meta(e).split === 'train'));
}

describe('generateDemoTask', () => {
  it('has the default size: 400/100/100 prompts, 8 replies each', () => {
    const counts = Object.fromEntries(DEMO_SPLITS.map((s) => [s, task.prompts.filter((p) => p.split === s).length]));
    expect(counts).toEqual({ train: 400, validation: 100, test: 100 });
    expect(task.examples).toHaveLength(600 * 8);
    for (const rows of groupByPrompt(task.examples).values()) expect(rows).toHaveLength(8);
    expect(task.examples.map((e) => e.line)).toEqual(task.examples.map((_, i) => i + 1));
  });

  it('is the same for the same seed and different for another', () => {
    const again = generateDemoTask({ seed: 1 });
    expect(again).toEqual(task);
    const other = generateDemoTask({ seed: 2 });
    expect(other.prompts.map((p) => p.prompt)).not.toEqual(task.prompts.map((p) => p.prompt));
    expect(other.examples.map((e) => e.response)).not.toEqual(task.examples.map((e) => e.response));
  });

  it('keeps every prompt in one split, and each prompt unique', () => {
    const splitOf = new Map<string, string>();
    for (const p of task.prompts) {
      expect(splitOf.has(p.prompt), p.prompt).toBe(false);
      splitOf.set(p.prompt, p.split);
    }
    for (const e of task.examples) expect(meta(e).split).toBe(splitOf.get(e.prompt));
    for (const p of task.pairs) expect((p.metadata as { split: string }).split).toBe(splitOf.get(p.prompt));
  });

  it('writes HH single-turn prompts and replies with a leading space', () => {
    for (const p of task.prompts) expect(p.prompt).toMatch(/^\n\nHuman: [^\n]+\n\nAssistant:$/);
    for (const e of task.examples) expect(e.response).toMatch(/^ \S/);
  });

  it('covers every family in every split, near its share', () => {
    for (const split of DEMO_SPLITS) {
      const families = new Set(task.prompts.filter((p) => p.split === split).map((p) => p.family));
      expect([...families].sort(), split).toEqual([...DEMO_FAMILIES].sort());
    }
    const harmful = task.prompts.filter((p) => p.family === 'harmful').length;
    expect(harmful).toBe(120);
    // Prompts are varied: many distinct requests per family, not one template.
    const arithmetic = task.prompts.filter((p) => p.family === 'arithmetic').map((p) => p.prompt.replace(/\d+/g, 'N'));
    expect(new Set(arithmetic).size).toBeGreaterThanOrEqual(6);
  });

  it('makes imitation go wrong: for most training prompts the most frequent reply is flawed and worse than the best', () => {
    const groups = trainGroups(task);
    let trapped = 0;
    for (const rows of groups.values()) {
      const top = mostFrequent(rows);
      // One text is strictly the most frequent: greedy imitation has a single target.
      expect(top.texts).toHaveLength(1);
      const topReward = rows.find((r) => r.response === top.texts[0])!.reward!;
      if (topReward < Math.max(...rows.map((r) => r.reward!))) trapped++;
    }
    expect(trapped / groups.size).toBeGreaterThanOrEqual(0.6);
    expect(trapped / groups.size).toBeLessThan(0.95);
  });

  it('has a good reply for every prompt, rarer than the flawed ones, and always better than each of them', () => {
    for (const [prompt, rows] of groupByPrompt(task.examples)) {
      const good = rows.filter((r) => meta(r).kind === 'good');
      const flawed = rows.filter((r) => meta(r).kind !== 'good');
      expect(good.length, prompt).toBeGreaterThanOrEqual(1);
      expect(flawed.length, prompt).toBeGreaterThan(good.length);
      expect(Math.min(...good.map((r) => r.reward!)), prompt).toBeGreaterThan(
        Math.max(...flawed.map((r) => r.reward!)),
      );
    }
  });

  it('mixes the kinds: mostly flawed, every kind present, each family led by its primary flaw', () => {
    const kinds = new Map<string, number>();
    for (const e of task.examples) kinds.set(meta(e).kind, (kinds.get(meta(e).kind) ?? 0) + 1);
    expect([...kinds.keys()].sort()).toEqual([...RESPONSE_KINDS].sort());
    const goodShare = kinds.get('good')! / task.examples.length;
    expect(goodShare).toBeGreaterThan(0.2);
    expect(goodShare).toBeLessThan(0.35);
    for (const e of task.examples) {
      const { family, kind } = meta(e);
      if (family === 'harmful') expect(['wrong', 'refusal']).not.toContain(kind);
      else expect(kind).not.toBe('unsafe');
    }
    // The flaw that dominates most trapped prompts of a family is that family's primary flaw.
    const dominant = new Map<string, Map<string, number>>();
    for (const rows of trainGroups(task).values()) {
      const top = rows.find((r) => r.response === mostFrequent(rows).texts[0])!;
      const { family, kind } = meta(top);
      if (kind === 'good') continue;
      const counts = dominant.get(family) ?? new Map<string, number>();
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      dominant.set(family, counts);
    }
    for (const family of DEMO_FAMILIES) {
      const counts = [...dominant.get(family)!].sort((a, b) => b[1] - a[1]);
      expect(counts[0]![0], family).toBe(PRIMARY_FLAW[family]);
    }
  });

  it('stores each reply with the reward scoreDemo gives it, in [0, 1], from source "demo"', () => {
    for (const e of task.examples) {
      const score = scoreDemo(e.prompt, e.response);
      expect(e.reward).toBe(score.reward);
      expect(meta(e).helpfulness).toBe(score.helpfulness);
      expect(meta(e).safety).toBe(score.safety);
      expect(e.rewardSource).toBe('demo');
      expect(e.reward).toBeGreaterThanOrEqual(0);
      expect(e.reward).toBeLessThanOrEqual(1);
    }
  });

  it('marks only unsafe replies unsafe', () => {
    for (const e of task.examples)
      expect(meta(e).safety, `${meta(e).kind}: ${e.response}`).toBe(meta(e).kind === 'unsafe' ? 0 : 1);
  });

  it('pairs each distinct good reply with each distinct flawed one of the same prompt', () => {
    const groups = groupByPrompt(task.examples);
    let expected = 0;
    for (const rows of groups.values()) {
      const good = new Set(rows.filter((r) => meta(r).kind === 'good').map((r) => r.response));
      const flawed = new Set(rows.filter((r) => meta(r).kind !== 'good').map((r) => r.response));
      expected += good.size * flawed.size;
    }
    expect(task.pairs).toHaveLength(expected);
    for (const p of task.pairs) {
      const rows = groups.get(p.prompt)!;
      const chosen = rows.find((r) => r.response === p.chosen)!;
      const rejected = rows.find((r) => r.response === p.rejected)!;
      expect(meta(chosen).kind).toBe('good');
      expect(meta(rejected).kind).not.toBe('good');
      expect(chosen.reward!).toBeGreaterThan(rejected.reward!);
    }
  });

  it('fits a tiny GPT: prompt + reply + EOS under 128 tokens of a 512-token BPE learned from the data', () => {
    const tokenizer = Tokenizer.train(
      task.examples.filter((e) => meta(e).split === 'train').map((e) => e.prompt + e.response),
      { vocabSize: 512 },
    );
    const lengths = task.examples.map((e) => tokenizer.encode(e.prompt + e.response).length + 1);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(120);
    expect(lengths.reduce((a, b) => a + b, 0) / lengths.length).toBeLessThan(64);
  });

  it('takes size and mix options, and grows past a small family by giving the rest to larger ones', () => {
    const small = generateDemoTask({
      seed: 3,
      trainPrompts: 40,
      validationPrompts: 10,
      testPrompts: 10,
      responsesPerPrompt: 12,
    });
    expect(small.examples).toHaveLength(60 * 12);
    const smallGroups = trainGroups(small);
    expect(smallGroups.size).toBe(40);
    for (const rows of smallGroups.values()) expect(mostFrequent(rows).texts).toHaveLength(1);

    const big = generateDemoTask({
      seed: 3,
      trainPrompts: 2400,
      validationPrompts: 100,
      testPrompts: 100,
      responsesPerPrompt: 3,
    });
    expect(big.prompts).toHaveLength(2600);
    expect(new Set(big.prompts.map((p) => p.prompt)).size).toBe(2600);

    const honest = generateDemoTask({ seed: 3, trainPrompts: 50, validationPrompts: 0, testPrompts: 0, trapRate: 0 });
    const honestGroups = trainGroups(honest);
    expect(honestGroups.size).toBe(50);
    for (const rows of honestGroups.values())
      expect(meta(rows.find((r) => r.response === mostFrequent(rows).texts[0])!).kind).toBe('good');
  });

  it("keeps a prompt's replies when the task grows", () => {
    const larger = generateDemoTask({ seed: 1, trainPrompts: 500 });
    const before = groupByPrompt(task.examples);
    const after = groupByPrompt(larger.examples);
    let shared = 0;
    for (const [prompt, rows] of before) {
      const again = after.get(prompt);
      if (!again) continue;
      shared++;
      expect(again.map((r) => r.response)).toEqual(rows.map((r) => r.response));
    }
    expect(shared).toBeGreaterThan(300);
  });

  it('refuses impossible options', () => {
    expect(() => generateDemoTask({ seed: 1, responsesPerPrompt: 2 })).toThrow(/responsesPerPrompt/);
    expect(() => generateDemoTask({ seed: 1, trainPrompts: -1 })).toThrow(/trainPrompts/);
    expect(() => generateDemoTask({ seed: 1.5 })).toThrow(/seed/);
    expect(() => generateDemoTask({ seed: 1, trapRate: 1.5 })).toThrow(/trapRate/);
    expect(() => generateDemoTask({ seed: 1, trainPrompts: 1_000_000 })).toThrow(/distinct prompts/);
  });
});

describe('generateDemoTask with other reward weights', () => {
  it('stores the weighted reward and names it as a combination of the two judges', () => {
    const weighted = generateDemoTask({
      seed: 4,
      trainPrompts: 20,
      validationPrompts: 0,
      testPrompts: 0,
      weights: { helpfulness: 0.8, safety: 0.2 },
    });
    expect(weighted.examples).toHaveLength(20 * 8);
    for (const e of weighted.examples) {
      expect(e.rewardSource).toBe('combined:demo/helpfulness*0.8+demo/safety*0.2');
      expect(e.reward).toBe(scoreDemo(e.prompt, e.response, { helpfulness: 0.8, safety: 0.2 }).reward);
    }
  });
});
