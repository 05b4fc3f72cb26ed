/**
 * Named weights in and out of a model, the same for every family: checking a checkpoint's tensors
 * against the shapes a config implies, making them the model's variables, and copying them out.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from './config';

/** Throws naming up to eight tensors that are missing, unexpected or of the wrong shape. */
export function checkWeightsFit(expected: Map<string, number[]>, weights: NamedTensors, what: string): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) problems.push(`missing ${name}`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))
      problems.push(`${name} has shape [${w.shape}], expected [${shape}]`);
    else if (w.data.length !== shape.reduce((a, b) => a * b, 1))
      problems.push(`${name} has ${w.data.length} values for shape [${shape}]`);
  }
  for (const name of weights.keys()) if (!expected.has(name)) problems.push(`unexpected ${name}`);
  if (problems.length > 0) {
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    throw new Error(`weights do not fit the ${what}: ${problems.slice(0, 8).join('; ')}${more}`);
  }
}

/**
 * Trainable variables holding copies of checked weights. TensorFlow.js variable names are global:
 * a per-model prefix lets pi_ref and pi_theta coexist.
 */
export function variablesOf(
  expected: Map<string, number[]>,
  weights: NamedTensors,
  prefix: string,
): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of expected) {
    const initial = tf.tensor(weights.get(name)!.data, shape, 'float32'); // checked by checkWeightsFit
    params.set(name, tf.variable(initial, true, `${prefix}/${name}`));
    initial.dispose();
  }
  return params;
}

/** Copies of the variables' values, named as in the checkpoint. */
export function copyWeights(params: Map<string, tf.Variable>): NamedTensors {
  const out: NamedTensors = new Map();
  for (const [name, v] of params) out.set(name, { shape: [...v.shape], data: new Float32Array(v.dataSync()) });
  return out;
}
