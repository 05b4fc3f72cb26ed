/**
 * Learning-rate schedules: pure functions from the optimizer step (0-based: the step about to be
 * taken) to the learning rate, as Hugging Face's LambdaLR schedules evaluate them. A resumed run
 * needs only the step count to get the same rates.
 */

export type Schedule = (step: number) => number;

/** The same rate every step (the A-LoL reference trains with a constant rate). */
export function constantSchedule(lr: number): Schedule {
  return () => lr;
}

export interface CosineScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Steps of linear warm-up from 0 to lr. */
  warmupSteps: number;
  /** Total optimizer steps; the decay ends here and stays at the floor after (HF's cosine would climb again). */
  totalSteps: number;
  /** The floor as a fraction of lr (0 = decay to zero, as get_cosine_schedule_with_warmup). */
  minLrRatio?: number;
}

/**
 * Linear warm-up, then half a cosine down to a floor: Hugging Face's get_cosine_schedule_with_warmup
 * (num_cycles 0.5), or get_cosine_with_min_lr_schedule_with_warmup when minLrRatio > 0.
 *   step < warmup:  lr * step / warmup        (so step 0 has rate 0, exactly as in HF)
 *   otherwise:      lr * (floor + (1 - floor) * 0.5 * (1 + cos(pi * progress))),
 *                   progress = (step - warmup) / (total - warmup), at most 1
 * e.g. lr 1e-3, warmup 10, total 110, floor 0.1: step 5 -> 5e-4, step 10 -> 1e-3,
 * step 60 -> 5.5e-4, step 110 -> 1e-4.
 */
export function cosineWithWarmup({ lr, warmupSteps, totalSteps, minLrRatio = 0 }: CosineScheduleOptions): Schedule {
  if (!(warmupSteps >= 0) || !(totalSteps >= warmupSteps)) {
    throw new Error(`cosineWithWarmup: need 0 <= warmupSteps (${warmupSteps}) <= totalSteps (${totalSteps})`);
  }
  if (!(minLrRatio >= 0 && minLrRatio <= 1))
    throw new Error(`cosineWithWarmup: minLrRatio ${minLrRatio} is not in [0, 1]`);
  return (step) => {
    if (step < warmupSteps) return (lr * step) / Math.max(1, warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
    return lr * (minLrRatio + (1 - minLrRatio) * cosine);
  };
}
