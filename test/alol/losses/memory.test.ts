/** No tensor outlives a call: tf.memory().numTensors is the same before and after each loss, its gradient and its errors. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLoss, lossNames, type LossInputs } from '../../../src/main/alol/losses/index';
import { BACKENDS, batch, useBackend } from './helpers';

function expectNoLeak(name: string, fn: () => void): void {
  fn(); // warm-up
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) fn();
  expect(tf.memory().numTensors, name).toBe(before);
}

describe.each(BACKENDS)('tensor hygiene on %s', (backend) => {
  let inputs: LossInputs;
  beforeAll(async () => {
    await useBackend(backend);
    inputs = {
      ...batch(),
      policyChosen: tf.tensor1d([-5, -8]),
      policyRejected: tf.tensor1d([-7, -6]),
      refChosen: tf.tensor1d([-6, -7]),
      refRejected: tf.tensor1d([-6, -7.5]),
    };
  });
  afterAll(() => tf.dispose(Object.values(inputs)));

  it('each loss keeps only the loss tensor it returns', () => {
    for (const name of lossNames) {
      expectNoLeak(name, () => {
        const before = tf.memory().numTensors;
        const { loss } = computeLoss(name, inputs);
        expect(tf.memory().numTensors, `${name}: only the loss is new`).toBe(before + 1);
        loss.dispose();
      });
    }
  });

  it('each loss under tf.grad and tf.variableGrads', () => {
    for (const name of lossNames) {
      const key = name === 'dpo' ? 'policyChosen' : 'lp';
      expectNoLeak(`${name} grad`, () => {
        tf.grad((t: tf.Tensor) => computeLoss(name, { ...inputs, [key]: t }).loss)(inputs[key]!).dispose();
      });
      const v = tf.variable(inputs[key]!);
      expectNoLeak(`${name} variableGrads`, () => {
        const { value, grads } = tf.variableGrads(() => computeLoss(name, { ...inputs, [key]: v }).loss, [v]);
        tf.dispose([value, ...Object.values(grads)]);
      });
      v.dispose();
    }
  });

  it('a loss that throws leaves nothing behind', () => {
    expectNoLeak('bad eps', () => expect(() => computeLoss('a_lol', inputs, { eps: 2 })).toThrow());
    expectNoLeak('missing input', () => expect(() => computeLoss('a_lol', { lp: inputs.lp! })).toThrow());
  });
});
