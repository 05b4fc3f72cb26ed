/** Active time on an item: only while visible and with the annotator active in the last IDLE_MS. */
import { describe, expect, it } from 'vitest';
import { ActiveClock } from '../../src/renderer/src/features/rate/activeTime';

const S = 1000;

describe('ActiveClock', () => {
  it('counts each gap between interactions up to the idle limit', () => {
    const clock = new ActiveClock(0, true, 30 * S);
    clock.touch(5 * S);
    clock.touch(100 * S); // 95 s without a sign of life: 30 s count
    expect(clock.elapsed(101 * S)).toBe(36 * S);
    // After the last interaction, at most the idle limit more.
    expect(clock.elapsed(500 * S)).toBe(65 * S);
  });

  it('counts nothing while the page is hidden, and restarts the gap when it is shown', () => {
    const clock = new ActiveClock(0, true, 30 * S);
    clock.hide(10 * S);
    expect(clock.elapsed(20 * S)).toBe(10 * S);
    clock.touch(25 * S); // a hidden tab's events do not count
    clock.show(300 * S);
    clock.touch(302 * S);
    expect(clock.elapsed(303 * S)).toBe(13 * S);
  });

  it('starts from zero on a new item, visible or not', () => {
    const clock = new ActiveClock(0, false, 30 * S);
    expect(clock.elapsed(10 * S)).toBe(0);
    clock.show(10 * S);
    clock.touch(12 * S);
    clock.restart(12 * S);
    expect(clock.elapsed(14 * S)).toBe(2 * S);
  });
});
