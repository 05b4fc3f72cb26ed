/** Stores a generated demo task as a new dataset version, the way an import would: one transaction. */
import { createHash } from 'node:crypto';
import type { ImportSummary } from '../../../shared/contract';
import type { DatasetStore } from '../datasetStore';
import { summarize } from '../importService';
import { DEMO_DEFAULTS, generateDemoTask, type DemoOptions, type DemoTask } from './generate';

/** What the version records as its source, so the same task can be generated again from it. */
export function demoSourceName(options: DemoOptions): string {
  const train = options.trainPrompts ?? DEMO_DEFAULTS.trainPrompts;
  const validation = options.validationPrompts ?? DEMO_DEFAULTS.validationPrompts;
  const test = options.testPrompts ?? DEMO_DEFAULTS.testPrompts;
  const replies = options.responsesPerPrompt ?? DEMO_DEFAULTS.responsesPerPrompt;
  const trapRate = options.trapRate ?? DEMO_DEFAULTS.trapRate;
  return `demo (seed ${options.seed}; prompts ${train}/${validation}/${test}; ${replies} replies each; trap rate ${trapRate})`;
}

export function storeDemoTask(
  store: DatasetStore,
  name: string,
  options: DemoOptions,
  now?: Date,
): { summary: ImportSummary; task: DemoTask } {
  const task = generateDemoTask(options);
  // The task's bytes stand in for a file's: the same options give the same hash.
  const bytes = Buffer.from(JSON.stringify({ examples: task.examples, pairs: task.pairs }));
  const summary = store.addVersion(
    {
      name,
      format: 'demo',
      sourceFile: demoSourceName(options),
      sourceSha256: createHash('sha256').update(bytes).digest('hex'),
      sourceBytes: bytes.length,
      // Examples with rewards, as a JSON Lines import of (prompt, response, reward) would give.
      summary: summarize(name, 'jsonl', task.examples.length + task.pairs.length, task.examples, task.pairs),
      examples: task.examples,
      pairs: task.pairs,
    },
    now,
  );
  return { summary, task };
}
