/** The TinyMlp as a data-parallel task: what each worker thread builds (see src/main/lm/parallel/task.ts). */
import { Rng } from '../../../src/main/lm/rng';
import type { Replica } from '../../../src/main/lm/parallel/task';
import { TinyMlp, type MlpBatch } from './tiny';

export interface MlpInit {
  dropout: number;
  /** Makes the loss throw on a micro-batch whose first target is exactly this, to test error paths. */
  failOn?: number;
}

export function createReplica(init: MlpInit): Replica<MlpBatch> {
  // Any seed: the main thread's parameters overwrite these before every step.
  const model = new TinyMlp(new Rng(0), undefined, init.dropout);
  return {
    params: model.params,
    loss: (mb) => {
      if (init.failOn !== undefined && mb.y[0] === init.failOn) throw new Error(`asked to fail on ${init.failOn}`);
      return model.loss(mb);
    },
  };
}
