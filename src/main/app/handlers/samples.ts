/** The contract's sampling and scoring methods: samples into the project, and rewards for responses. */
import type { Handlers } from '../../../shared/contract';
import type { ProjectPaths } from '../../core/project';
import type { DatasetStore } from '../../data/datasetStore';
import type { JobService } from '../../jobs/jobService';
import type { ModelStore } from '../../models/modelStore';
import { loadReward, scoreAll } from '../../rewards/index';
import { checkRewardModules } from '../../rewards/rewardSpec';
import type { SampleStore } from '../../samples/sampleStore';

type SampleMethods = 'samples.create' | 'samples.list' | 'rewards.score';

export function sampleHandlers(d: {
  paths: ProjectPaths;
  models: ModelStore;
  datasets: DatasetStore;
  samples: SampleStore;
  jobs: JobService;
  initTensors: () => Promise<unknown>;
}): Pick<Handlers, SampleMethods> {
  const { paths, models, datasets, samples, jobs } = d;
  return {
    'samples.create': (input) => {
      models.get(input.model);
      if ('dataset' in input.prompts) datasets.get(input.prompts.dataset, input.prompts.version);
      if (input.reward) checkRewardModules(input.reward, paths.dir);
      return { jobId: jobs.start('sample', input) };
    },
    'samples.list': ({ model, source, offset, limit }) => samples.page({ model, source }, offset, limit),
    'rewards.score': async ({ reward, dataset, version, items }) => {
      const fn = await loadReward(reward, { projectDir: paths.dir, initTensors: d.initTensors });
      // A dataset's responses: its examples', then each pair's chosen and rejected (a preference file is pairs only).
      const rows = items ?? [
        ...[...datasets.eachExample(dataset as string, version)].map((e) => ({
          prompt: e.prompt,
          response: e.response,
        })),
        ...[...datasets.eachPair(dataset as string, version)].flatMap((p) => [
          { prompt: p.prompt, response: p.chosen },
          { prompt: p.prompt, response: p.rejected },
        ]),
      ];
      const scored = await scoreAll(fn, rows);
      const mean = scored.rewards.length > 0 ? scored.rewards.reduce((a, b) => a + b, 0) / scored.rewards.length : null;
      return {
        source: scored.source,
        count: rows.length,
        mean,
        rows: rows.map((r, i) => ({
          ...r,
          reward: scored.rewards[i] as number,
          components: Object.fromEntries(
            Object.entries(scored.components).map(([name, column]) => [name, column[i] as number]),
          ),
        })),
      };
    },
  };
}
