/**
 * What `npm start` does with a new, empty project: the built-in demo task as a dataset and a
 * small model made from it, so the studio opens on something to look at and train. A project that
 * has any dataset or model is left as it is.
 */
import type { Backend } from './backend';

export const DEMO_DATASET = 'demo';
export const DEMO_MODEL = 'demo-base';

export async function seedDemoProject(backend: Backend, log: (line: string) => void): Promise<void> {
  const count = (table: string) => backend.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  if (count('datasets') > 0 || count('models') > 0) return;
  const dataset = await backend.dispatch('datasets.demo', { name: DEMO_DATASET });
  if (!dataset.ok) return log(`Could not create the demo dataset: ${dataset.error.message}`);
  log(`New project: created the demo dataset "${DEMO_DATASET}"; creating the model "${DEMO_MODEL}" in the background`);
  const model = await backend.dispatch('models.create', { name: DEMO_MODEL, dataset: DEMO_DATASET, layers: 2, dim: 128, heads: 4, context: 128, vocab: 512, seed: 0 });
  if (!model.ok) log(`Could not start creating the demo model: ${model.error.message}`);
}
