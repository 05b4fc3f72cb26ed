import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineWithWarmup } from '../../../src/main/lm/schedules';

describe('schedules', () => {
  it('constant is the same at every step', () => {
    const s = constantSchedule(3e-4);
    expect([0, 1, 1000].map(s)).toEqual([3e-4, 3e-4, 3e-4]);
  });

  it('cosine with warm-up to zero, as get_cosine_schedule_with_warmup', () => {
    const s = cosineWithWarmup({ lr: 1e-3, warmupSteps: 10, totalSteps: 110 });
    expect(s(0)).toBe(0); // HF's first step has rate 0 when there is warm-up
    expect(s(5)).toBeCloseTo(5e-4, 12);
    expect(s(10)).toBeCloseTo(1e-3, 12); // end of warm-up: the peak
    expect(s(35)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.SQRT1_2), 12); // a quarter of the decay
    expect(s(60)).toBeCloseTo(5e-4, 12); // halfway
    expect(s(110)).toBeCloseTo(0, 12); // end
    expect(s(200)).toBeCloseTo(0, 12); // and it stays there
  });

  it('cosine to a floor, as get_cosine_with_min_lr_schedule_with_warmup', () => {
    const s = cosineWithWarmup({ lr: 1e-3, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 });
    expect(s(10)).toBeCloseTo(1e-3, 12);
    expect(s(60)).toBeCloseTo(5.5e-4, 12); // 0.1 + 0.9 * 0.5
    expect(s(110)).toBeCloseTo(1e-4, 12);
    expect(s(500)).toBeCloseTo(1e-4, 12);
  });

  it('without warm-up starts at the peak and is a pure function of the step', () => {
    const s = cosineWithWarmup({ lr: 2, warmupSteps: 0, totalSteps: 4 });
    const values = [0, 1, 2, 3, 4].map(s);
    expect(values.map((x) => Number(x.toFixed(12)))).toEqual([2, 1.707106781187, 1, 0.292893218813, 0]);
    // Asked again in another order, every step gives exactly what it gave the first time.
    expect([4, 2, 0, 3, 1].map(s)).toEqual([4, 2, 0, 3, 1].map((k) => values[k]));
    expect(() => cosineWithWarmup({ lr: 1, warmupSteps: 5, totalSteps: 4 })).toThrow(/warmupSteps/);
  });
});
