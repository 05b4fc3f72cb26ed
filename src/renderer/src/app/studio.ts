/**
 * The studio's shared state, built once per page from the bridge, and the typed context pair the
 * screens use to reach it. The context goes in through mount() rather than a component prop, since
 * it never changes for the page's life.
 */
import { getContext } from 'svelte';
import type { Bridge } from '../../../shared/bridge';
import { Client } from '../lib/client';
import { AppState } from './app.svelte';
import { CampaignsState } from '../features/campaigns/campaigns.svelte';
import { DatasetsState } from '../features/data/datasets.svelte';
import { ImportState } from '../features/data/import.svelte';
import { CreateModelState, ModelImportState } from '../features/models/modelForms.svelte';
import { ModelsState } from '../features/models/models.svelte';
import { RunsState } from '../features/runs/runs.svelte';
import { ResultsState } from '../features/results/results.svelte';
import { SamplesState } from '../features/samples/samples.svelte';
import { TryPromptState } from '../features/models/tryPrompt.svelte';

export interface Studio {
  app: AppState;
  datasets: DatasetsState;
  importer: ImportState;
  models: ModelsState;
  creator: CreateModelState;
  modelImporter: ModelImportState;
  tryPrompt: TryPromptState;
  runs: RunsState;
  results: ResultsState;
  campaigns: CampaignsState;
  samples: SamplesState;
}

const key = Symbol('studio');

export function createStudio(bridge: Bridge): Studio {
  const client = new Client(bridge);
  const datasets = new DatasetsState(client);
  const models = new ModelsState(client);
  const tryPrompt = new TryPromptState(client, () => models.list);
  const added = (model: { name: string }): void => {
    void models.refresh();
    tryPrompt.offer(model.name);
  };
  const app = new AppState(client);
  return {
    app,
    datasets,
    importer: new ImportState(client, () => void datasets.refresh()),
    models,
    creator: new CreateModelState(client, () => datasets.list, added),
    modelImporter: new ModelImportState(client, added),
    tryPrompt,
    runs: new RunsState(
      client,
      () => models.list,
      () => datasets.list,
      added,
    ),
    results: new ResultsState(client),
    campaigns: new CampaignsState(
      client,
      () => models.list,
      () => datasets.list,
      (target) => app.rate(target),
    ),
    samples: new SamplesState(
      client,
      () => models.list,
      () => datasets.list,
    ),
  };
}

/** The context map to hand to mount(). */
export function studioContext(studio: Studio): Map<symbol, Studio> {
  return new Map([[key, studio]]);
}

export function getStudio(): Studio {
  const studio = getContext<Studio | undefined>(key);
  if (!studio) throw new Error('getStudio() called outside the studio (mount it with studioContext)');
  return studio;
}
