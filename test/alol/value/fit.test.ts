/** Fitting the value head on a task whose answer is known: the first prompt token decides the target. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightsSha256 } from '../../../src/main/alol/advantages';
import { fitValueHead } from '../../../src/main/alol/valueHead';
import { predictValues } from '../../../src/main/lm/pooledHead';
import type { Gpt } from '../../../src/main/lm/model';
import { synthRows, tinyReference, useWasm } from './helpers';

describe('fitValueHead', () => {
  let reference: Gpt;
  const rows = synthRows(64, 3);

  beforeAll(async () => {
    await useWasm();
    reference = tinyReference();
  });
  afterAll(() => reference.dispose());

  it('learns the synthetic task: low MSE, high correlation, on fitting and held-out prompts', async () => {
    const referenceSha = weightsSha256(reference.params);
    const seen: number[] = [];
    // Default lr (1e-3), batch size and dropout; more epochs than the default 10 for a from-scratch head.
    const { head, report } = await fitValueHead({
      reference,
      rows,
      maxValue: 1,
      seed: 0,
      epochs: 20,
      validationFraction: 0.25,
      onEpoch: (e) => void seen.push(e.epoch),
    });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(report.selectedBy).toBe('validation');
    expect(report.train.count + report.validation!.count).toBe(64);
    // The targets' variance is 0.16: predicting their mean scores that.
    expect(report.epochs[0]!.trainMse).toBeGreaterThan(0.1);
    expect(report.train.mse).toBeLessThan(0.01);
    expect(report.validation!.mse).toBeLessThan(0.01);
    expect(report.train.pearson!).toBeGreaterThan(0.95);
    expect(report.validation!.pearson!).toBeGreaterThan(0.95);
    // What the head now predicts, through the reference, on fresh prompts of the same task.
    const fresh = synthRows(20, 99);
    const v = predictValues(
      reference,
      head,
      fresh.map((r) => r.promptIds),
    );
    fresh.forEach((r, i) => expect(Math.abs(v[i]! - r.target), `prompt ${r.promptIds}`).toBeLessThan(0.2));
    // The reference is read, never moved.
    expect(weightsSha256(reference.params)).toBe(referenceSha);
    head.dispose();
  });

  it('keeps the epoch with the lowest loss, not the last', async () => {
    // A high rate overshoots after a few epochs, so the best epoch is an early one.
    const { head, report } = await fitValueHead({
      reference,
      rows,
      maxValue: 1,
      seed: 0,
      epochs: 12,
      lr: 1e-2,
      validationFraction: 0.25,
    });
    const losses = report.epochs.map((e) => e.validationMse!);
    const argmin = losses.indexOf(Math.min(...losses)) + 1;
    expect(report.bestEpoch).toBe(argmin);
    expect(report.bestEpoch).toBeLessThan(12);
    expect(losses[11]!).toBeGreaterThan(losses[argmin - 1]!);
    // The head holds that epoch's weights: its MSE now is that epoch's.
    expect(Math.abs(report.validation!.mse - losses[argmin - 1]!)).toBeLessThan(1e-9);
    expect(Math.abs(report.train.mse - report.epochs[argmin - 1]!.trainMse)).toBeLessThan(1e-9);
    head.dispose();
  });

  it('without validation, chooses by the MSE on the fitting rows', async () => {
    const { head, report } = await fitValueHead({
      reference,
      rows: rows.slice(0, 24),
      maxValue: 1,
      seed: 1,
      epochs: 4,
      lr: 3e-3,
    });
    expect(report.selectedBy).toBe('train');
    expect(report.validation).toBeNull();
    const losses = report.epochs.map((e) => e.trainMse);
    expect(report.bestEpoch).toBe(losses.indexOf(Math.min(...losses)) + 1);
    expect(report.epochs.every((e) => e.validationMse === null)).toBe(true);
    head.dispose();
  });

  it('is deterministic from the seed', async () => {
    const options = { reference, rows: rows.slice(0, 32), maxValue: 1, epochs: 3, lr: 3e-3, validationFraction: 0.25 };
    const a = await fitValueHead({ ...options, seed: 5 });
    const b = await fitValueHead({ ...options, seed: 5 });
    const c = await fitValueHead({ ...options, seed: 6 });
    expect(b.report).toEqual(a.report);
    expect(weightsSha256(b.head.params)).toBe(weightsSha256(a.head.params));
    expect(weightsSha256(c.head.params)).not.toBe(weightsSha256(a.head.params));
    for (const r of [a, b, c]) r.head.dispose();
  });

  it('caches one set of states per distinct prompt, and holds out whole prompts', async () => {
    const doubled = [...rows.slice(0, 10), ...rows.slice(0, 10).map((r) => ({ ...r }))];
    const { head, report } = await fitValueHead({
      reference,
      rows: doubled,
      maxValue: 1,
      seed: 0,
      epochs: 1,
      validationFraction: 0.3,
    });
    expect(report.prompts).toBe(new Set(rows.slice(0, 10).map((r) => r.promptIds.join(','))).size);
    // Both copies of a prompt land on the same side, so the counts are even.
    expect(report.validation!.count % 2).toBe(0);
    expect(report.train.count % 2).toBe(0);
    head.dispose();
  });

  it('refuses targets the head cannot reach, and bad options', async () => {
    await expect(
      fitValueHead({ reference, rows: [{ promptIds: [1, 2], target: 1.5 }], maxValue: 1, seed: 0 }),
    ).rejects.toThrow(/row 0 has target 1\.5, outside \[0, maxValue = 1\]/);
    await expect(
      fitValueHead({ reference, rows: [{ promptIds: [1, 2], target: -0.1 }], maxValue: 1, seed: 0 }),
    ).rejects.toThrow(/target -0\.1/);
    await expect(fitValueHead({ reference, rows: [], maxValue: 1, seed: 0 })).rejects.toThrow(/no rows/);
    await expect(
      fitValueHead({ reference, rows: rows.slice(0, 1), maxValue: 1, seed: 0, validationFraction: 0.5 }),
    ).rejects.toThrow(/at least 2 distinct prompts/);
  });
});
