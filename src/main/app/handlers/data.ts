/** The contract's dataset, upload and import methods. */
import { basename } from 'node:path';
import type { Handlers } from '../../../shared/contract';
import type { DatasetStore } from '../../data/datasetStore';
import { storeDemoTask } from '../../data/demo/storeDemo';
import type { UploadStore } from '../../data/uploadStore';
import { existingFile } from '../../core/outputPath';
import type { JobService } from '../../jobs/jobService';

type DataMethods =
  | 'datasets.list'
  | 'datasets.get'
  | 'datasets.demo'
  | 'datasets.examples'
  | 'datasets.pairs'
  | 'uploads.create'
  | 'uploads.append'
  | 'imports.start';

export function dataHandlers(d: {
  datasets: DatasetStore;
  uploads: UploadStore;
  jobs: JobService;
}): Pick<Handlers, DataMethods> {
  const { datasets, uploads, jobs } = d;
  return {
    'datasets.list': () => datasets.list(),
    'datasets.get': ({ dataset, version }) => datasets.get(dataset, version),
    'datasets.demo': ({ name, seed, trainPrompts }) => {
      storeDemoTask(datasets, name, { seed, trainPrompts });
      return datasets.get(name);
    },
    'datasets.examples': ({ dataset, version, offset, limit }) => datasets.examples(dataset, version, offset, limit),
    'datasets.pairs': ({ dataset, version, offset, limit }) => datasets.pairs(dataset, version, offset, limit),
    'uploads.create': ({ fileName, size }) => ({ uploadId: uploads.create(fileName, size) }),
    'uploads.append': ({ uploadId, offset, base64 }) => ({ received: uploads.append(uploadId, offset, base64) }),
    'imports.start': ({ source, name, format, fields }) => {
      if (source.kind === 'path') existingFile(source.path, 'import file');
      const file =
        source.kind === 'upload'
          ? uploads.resolve(source.uploadId)
          : { path: source.path, fileName: basename(source.path) };
      const cleanup = source.kind === 'upload' ? () => uploads.remove(source.uploadId) : undefined;
      const jobId = jobs.start(
        'import',
        { path: file.path, displayName: file.fileName, name, format, fields },
        cleanup,
      );
      return { jobId };
    },
  };
}
