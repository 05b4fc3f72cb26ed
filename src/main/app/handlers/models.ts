/** The contract's model methods: list, import, create, export, download, tokenize, score and generate. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type Handlers } from '../../../shared/contract';
import type { ProjectPaths } from '../../core/project';
import type { DatasetStore } from '../../data/datasetStore';
import type { JobService } from '../../jobs/jobService';
import { existingDirectory, newOrExistingFolder, outsideStorage } from '../../core/outputPath';
import { exportModel, mergeAdapter, modelFolder, tokenize } from '../../models/modelOps';
import type { Db } from '../../db/openDb';
import type { ModelStore } from '../../models/modelStore';

type ModelMethods =
  | 'models.list'
  | 'models.get'
  | 'models.import'
  | 'models.create'
  | 'models.export'
  | 'models.merge'
  | 'models.download'
  | 'models.tokenize'
  | 'models.logprobs'
  | 'models.generate';

export function modelHandlers(d: {
  paths: ProjectPaths;
  models: ModelStore;
  datasets: DatasetStore;
  jobs: JobService;
  /** For models.merge, which stores a model from the main process (pure JavaScript, no tensor backend). */
  db: Db;
}): Pick<Handlers, ModelMethods> {
  const { paths, models, datasets, jobs } = d;
  return {
    'models.list': () => models.list(),
    'models.get': ({ model }) => models.get(model),
    'models.import': ({ path, name }) => {
      if (models.has(name)) throw new AppError('conflict', `a model named "${name}" exists already`);
      existingDirectory(path, 'model folder');
      return { jobId: jobs.start('model.import', { path, name }) };
    },
    'models.create': (input) => {
      if (models.has(input.name)) throw new AppError('conflict', `a model named "${input.name}" exists already`);
      datasets.get(input.dataset, input.version);
      return { jobId: jobs.start('model.create', input) };
    },
    'models.export': ({ model, path, dtype }) => {
      const stored = models.get(model);
      newOrExistingFolder(path);
      outsideStorage(path, paths);
      return exportModel(paths, stored, path, { dtype });
    },
    'models.merge': async ({ model, adapter, out }) => {
      const base = models.get(model);
      if (models.has(out)) throw new AppError('conflict', `a model named "${out}" exists already`);
      existingDirectory(adapter, 'adapter folder');
      const stored = await mergeAdapter(
        { db: d.db, paths, progress: () => {}, signal: new AbortController().signal },
        base,
        adapter,
        out,
      );
      return models.get(stored.name);
    },
    'models.download': ({ model, file }) => {
      const path = join(modelFolder(paths, models.get(model)), file);
      if (!existsSync(path)) throw new AppError('not_found', `model "${model}" has no ${file}`);
      return { filename: file, base64: readFileSync(path).toString('base64') };
    },
    'models.tokenize': ({ model, text }) => tokenize(paths, models.get(model), text),
    'models.logprobs': (input) => {
      models.get(input.model);
      return { jobId: jobs.start('logprobs', input) };
    },
    'models.generate': (input) => {
      models.get(input.model);
      return { jobId: jobs.start('generate', input) };
    },
  };
}
