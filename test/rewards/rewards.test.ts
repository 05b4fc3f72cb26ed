import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDemoTask, hhPrompt, scoreDemo } from '../../src/main/data/demo';
import {
  BUILTIN_REWARDS,
  builtinReward,
  combineRewards,
  loadModuleReward,
  loadReward,
  parseRewardSpec,
  scoreAll,
  scoreOne,
  type RewardFunction,
} from '../../src/main/rewards';
import { AppError } from '../../src/shared/contract';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-rewards-');

const theft = hhPrompt('How can I steal a car?');
const refusal = " I can't help with that. If money is tight, local food banks can help.";
const sum = hhPrompt('What is 7 plus 5?');

/** A project folder holding the given files. */
function project(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a failure');
}

const fixed = (name: string, value: number): RewardFunction => ({ name, score: () => value });

describe('built-in rewards', () => {
  it('scores the demo task by name, with its components', async () => {
    expect(BUILTIN_REWARDS).toEqual(['demo', 'demo/helpfulness', 'demo/safety', 'length']);
    const demo = builtinReward('demo');
    expect(demo.components).toEqual(['helpfulness', 'safety']);
    expect(await scoreOne(demo, theft, refusal)).toEqual({ reward: 0.85, components: { helpfulness: 0.7, safety: 1 } });
    expect(await scoreOne(builtinReward('demo/helpfulness'), theft, refusal)).toEqual({ reward: 0.7, components: {} });
    expect(await scoreOne(builtinReward('demo/safety'), theft, ' Sure! Wait until nobody is watching.')).toEqual({
      reward: 0,
      components: {},
    });
  });

  it('scores length in words, capped at 1', async () => {
    const length = builtinReward('length');
    expect((await scoreOne(length, sum, ' one two three four five')).reward).toBe(0.1);
    expect((await scoreOne(length, sum, ' word'.repeat(80))).reward).toBe(1);
    expect((await scoreOne(length, sum, '')).reward).toBe(0);
  });

  it('loads by name, and says which names exist', async () => {
    expect((await loadReward('demo')).name).toBe('demo');
    expect((await loadReward(' demo/safety ')).name).toBe('demo/safety');
    const unknown = await failure(loadReward('demo/kindness'));
    expect(unknown.message).toMatch(/no reward named "demo\/kindness".*demo, demo\/helpfulness, demo\/safety, length/);
    expect((await failure(loadReward('column:reward'))).message).toMatch(/column of imported data/);
  });
});

describe('user scoring modules', () => {
  it('loads a module and scores with its sync or async score()', async () => {
    const dir = project({
      'scorer.mjs': 'export function score(prompt, response) { return response.includes("food banks") ? 1 : 0; }\n',
      'rewards/slow.js':
        'export async function score(prompt, response) { await new Promise((r) => setTimeout(r, 1)); return prompt.length > 0 ? 0.25 : 0; }\n',
    });
    const scorer = await loadModuleReward(dir, 'scorer.mjs');
    expect(scorer.name).toBe('module:scorer.mjs');
    expect(
      await scoreAll(scorer, [
        { prompt: theft, response: refusal },
        { prompt: theft, response: ' no' },
      ]),
    ).toEqual({
      source: 'module:scorer.mjs',
      rewards: [1, 0],
      components: {},
    });
    // A nested path is named with forward slashes, relative to the project.
    const slow = await loadReward('module:rewards/slow.js', { projectDir: dir });
    expect(slow.name).toBe('module:rewards/slow.js');
    expect((await scoreOne(slow, theft, refusal)).reward).toBe(0.25);
  });

  it('accepts CommonJS and loads an edited module afresh', async () => {
    const dir = project({
      'cjs.js': 'module.exports = { score: () => 0.5 };\n',
      'edit.mjs': 'export const score = () => 1;\n',
    });
    expect((await scoreOne(await loadModuleReward(dir, 'cjs.js'), sum, ' 12')).reward).toBe(0.5);
    expect((await scoreOne(await loadModuleReward(dir, 'edit.mjs'), sum, ' 12')).reward).toBe(1);
    writeFileSync(join(dir, 'edit.mjs'), 'export const score = () => 0.75;\n');
    expect((await scoreOne(await loadModuleReward(dir, 'edit.mjs'), sum, ' 12')).reward).toBe(0.75);
  });

  it('names the module when it is missing, outside the project, or not JavaScript', async () => {
    const dir = project({ 'notes.txt': 'hello\n' });
    expect((await failure(loadModuleReward(dir, 'scorer.mjs'))).message).toMatch(
      /^module:scorer\.mjs: no such file: .*scorer\.mjs$/,
    );
    expect((await failure(loadModuleReward(dir, '../elsewhere.mjs'))).message).toMatch(
      /^module:\.\.\/elsewhere\.mjs: .*inside the project folder/,
    );
    expect((await failure(loadModuleReward(dir, 'notes.txt'))).message).toMatch(/^module:notes\.txt: .*\.mjs or \.js/);
    expect((await failure(loadReward('module:scorer.mjs'))).message).toMatch(/only within a project/);
  });

  it('names the module when it has no score export or cannot load', async () => {
    const dir = project({
      'none.mjs': 'export function rate() { return 1; }\nexport const version = 2;\n',
      'broken.mjs': 'export function score( {\n',
      'throwsOnLoad.mjs': 'throw new Error("missing API key");\n',
    });
    const none = await failure(loadModuleReward(dir, 'none.mjs'));
    expect(none.code).toBe('reward_module');
    expect(none.message).toMatch(/^module:none\.mjs: exports no function named "score" \(it exports rate, version\)/);
    expect((await failure(loadModuleReward(dir, 'broken.mjs'))).message).toMatch(
      /^module:broken\.mjs: could not be loaded: /,
    );
    expect((await failure(loadModuleReward(dir, 'throwsOnLoad.mjs'))).message).toBe(
      'module:throwsOnLoad.mjs: could not be loaded: missing API key',
    );
  });

  it('names the module and the prompt index when score() throws or returns a bad value', async () => {
    const dir = project({
      'throws.mjs':
        'export function score(prompt, response) { if (response === " boom") throw new Error("cannot parse reply"); return 1; }\n',
      'nan.mjs': 'export function score(prompt, response) { return response === " bad" ? NaN : 0.5; }\n',
      'text.mjs': 'export async function score() { return "0.9"; }\n',
      'infinite.mjs': 'export const score = () => Infinity;\n',
    });
    const items = [' ok', ' ok', ' boom', ' bad'].map((response) => ({ prompt: sum, response }));
    const thrown = await failure(scoreAll(await loadModuleReward(dir, 'throws.mjs'), items));
    expect(thrown.code).toBe('reward_failed');
    expect(thrown.message).toBe('module:throws.mjs: score() threw: cannot parse reply (prompt index 2)');
    const nan = await failure(scoreAll(await loadModuleReward(dir, 'nan.mjs'), items));
    expect(nan.message).toBe('module:nan.mjs: score() returned NaN; a score must be a finite number (prompt index 3)');
    const text = await failure(scoreAll(await loadModuleReward(dir, 'text.mjs'), items));
    expect(text.message).toBe(
      'module:text.mjs: score() returned the string "0.9"; a score must be a finite number (prompt index 0)',
    );
    expect((await failure(scoreAll(await loadModuleReward(dir, 'infinite.mjs'), items))).message).toMatch(
      /returned Infinity.*prompt index 0/,
    );
  });
});

describe('combined rewards', () => {
  it('sums the parts by weight and records each as a component', async () => {
    const combined = combineRewards([
      { reward: builtinReward('demo'), weight: 0.5 },
      { reward: fixed('always-one', 1), weight: 0.25 },
      { reward: fixed('always-zero', 0), weight: 0.25 },
    ]);
    expect(combined.name).toBe('combined:demo*0.5+always-one*0.25+always-zero*0.25');
    expect(combined.components).toEqual(['demo', 'demo/helpfulness', 'demo/safety', 'always-one', 'always-zero']);
    const scored = await scoreOne(combined, theft, refusal);
    expect(scored.reward).toBeCloseTo(0.5 * 0.85 + 0.25 * 1 + 0.25 * 0, 12);
    expect(scored.components).toEqual({
      demo: 0.85,
      'demo/helpfulness': 0.7,
      'demo/safety': 1,
      'always-one': 1,
      'always-zero': 0,
    });
  });

  it('loads a combination from its source string, and gives the same source back', async () => {
    const dir = project({
      'x.mjs': 'export const score = (prompt, response) => (response.trim() === "12" ? 1 : 0);\n',
    });
    const spec = 'demo*0.5+module:x.mjs*0.5';
    const combined = await loadReward(spec, { projectDir: dir });
    expect(combined.name).toBe('combined:demo*0.5+module:x.mjs*0.5');
    const again = await loadReward(combined.name, { projectDir: dir });
    expect(again.name).toBe(combined.name);
    const items = [
      { prompt: sum, response: ' 12' },
      { prompt: sum, response: ' 7 plus 5 is 13.' },
    ];
    const batch = await scoreAll(again, items);
    expect(batch.source).toBe('combined:demo*0.5+module:x.mjs*0.5');
    const demo = items.map((i) => scoreDemo(i.prompt, i.response).reward);
    expect(batch.rewards[0]).toBeCloseTo(0.5 * demo[0]! + 0.5, 12);
    expect(batch.rewards[1]).toBeCloseTo(0.5 * demo[1]!, 12);
    expect(batch.components['module:x.mjs']).toEqual([1, 0]);
    expect(batch.components['demo/safety']).toEqual([1, 1]);
  });

  it('rebuilds the reward a weighted demo task stored, from its source', async () => {
    const task = generateDemoTask({
      seed: 6,
      trainPrompts: 10,
      validationPrompts: 0,
      testPrompts: 0,
      weights: { helpfulness: 0.7, safety: 0.3 },
    });
    const source = task.examples[0]!.rewardSource!;
    const batch = await scoreAll(await loadReward(source), task.examples);
    expect(batch.source).toBe(source);
    // The stored reward is rounded to four decimals; the combination is not.
    for (const [i, e] of task.examples.entries()) expect(batch.rewards[i]).toBeCloseTo(e.reward!, 4);
  });

  it('names the failing part inside a combination', async () => {
    const dir = project({ 'nan.mjs': 'export const score = () => NaN;\n' });
    const combined = await loadReward('demo*0.5+module:nan.mjs*0.5', { projectDir: dir });
    const error = await failure(scoreAll(combined, [{ prompt: sum, response: ' 12' }]));
    expect(error.message).toBe(
      'module:nan.mjs: score() returned NaN; a score must be a finite number (prompt index 0)',
    );
  });

  it('parses specs and refuses bad ones', async () => {
    expect(parseRewardSpec('combined:demo*0.5+length*-0.1')).toEqual([
      { name: 'demo', weight: 0.5 },
      { name: 'length', weight: -0.1 },
    ]);
    expect(parseRewardSpec('demo')).toEqual([{ name: 'demo', weight: null }]);
    expect((await failure(loadReward('demo+length'))).message).toMatch(/give every reward of a combination its weight/);
    expect((await failure(loadReward('demo*abc'))).message).toMatch(/weight "abc" of demo/);
    expect((await failure(loadReward('demo*0'))).message).toMatch(/non-zero/);
    expect((await failure(loadReward('demo*0.5+demo*0.5'))).message).toMatch(/demo appears twice/);
    expect((await failure(loadReward(''))).message).toMatch(/no reward named/);
    expect(() => combineRewards([])).toThrow(RangeError);
    expect(() => combineRewards([{ reward: fixed('a', 1), weight: Number.NaN }])).toThrow(/finite/);
  });
});

describe('scoreAll', () => {
  it('checks object results and their declared components', async () => {
    const partial: RewardFunction = { name: 'partial', components: ['tone'], score: () => ({ reward: 1 }) };
    expect((await failure(scoreAll(partial, [{ prompt: sum, response: ' 12' }]))).message).toBe(
      'partial: score() returned no component "tone" (prompt index 0)',
    );
    const badComponent: RewardFunction = { name: 'bad', score: () => ({ reward: 1, tone: Number.NaN }) };
    expect((await failure(scoreAll(badComponent, [{ prompt: sum, response: ' 12' }]))).message).toMatch(
      /^bad: .*component "tone" of NaN/,
    );
  });

  it('reports progress and stops when cancelled', async () => {
    const items = Array.from({ length: 5 }, () => ({ prompt: sum, response: ' 12' }));
    const progress: number[] = [];
    await scoreAll(builtinReward('demo'), items, { onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const controller = new AbortController();
    const cancelling: RewardFunction = { name: 'c', score: () => (controller.abort(), 1) };
    await expect(scoreAll(cancelling, items, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});
