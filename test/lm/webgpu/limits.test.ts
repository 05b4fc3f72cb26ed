/**
 * The WebGPU device's buffer limits, met for real on SwiftShader: with ALOL_WEBGPU_LIMITS=default
 * the device gets WebGPU's defaults (128 MiB bound to a kernel, 256 MiB a buffer) instead of the
 * adapter's 1 GiB, so a model past them fits in a test's memory.
 * - A model whose largest tensor is past the binding limit is refused before it reaches the GPU,
 *   naming the tensor and the limit.
 * - A tensor past the limit made anyway is a real validation error: the read that follows throws
 *   instead of returning WebGPU's zeros, and the job-level translation names the limits.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { startWebgpu, webgpuFault, webgpuLimits, type WebgpuStarted } from '../../../src/main/lm/webgpu';
import { modelFromWeights } from '../../../src/main/models/modelFamily';
import { engineFailure } from '../../../src/main/jobs/engineFailure';
import { AppError } from '../../../src/shared/contract';
import type { NamedTensors } from '../../../src/main/lm/config';
import { LLAMA3, shapesOf } from '../llama/helpers';
import { webgpuTestEnv } from './helpers';

const MiB = 2 ** 20;
let started: WebgpuStarted;

beforeAll(async () => {
  Object.assign(process.env, webgpuTestEnv(), { ALOL_WEBGPU_LIMITS: 'default' });
  started = await startWebgpu({ allowFallback: true });
  expect(tf.getBackend()).toBe('webgpu');
}, 120_000);

describe('WebGPU device limits', () => {
  it('asks for the default limits, below what SwiftShader offers', () => {
    expect(started.adapter).toMatchObject({ architecture: 'swiftshader', fallback: true });
    expect(started.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * MiB);
    expect(webgpuLimits()).toEqual({ maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB });
  });

  it('refuses a model whose embedding is past the binding limit, naming the tensor and the limit', () => {
    // 33,000 x 1,024 floats: 129 MiB, over 128 MiB; every other tensor is small.
    const config = { ...LLAMA3, vocabSize: 33_000, nEmbd: 1024, nHead: 4, nKvHead: 2, headDim: 8, nLayer: 1 };
    const weights: NamedTensors = new Map(
      shapesOf(config).map(([name, shape]) => [
        name,
        { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) },
      ]),
    );
    const before = tf.memory().numTensors;
    let thrown: unknown;
    try {
      modelFromWeights(config, weights).dispose();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('out_of_memory');
    expect((thrown as AppError).message).toBe(
      "the model's tensor model.embed_tokens.weight needs 129 MiB in one GPU buffer, over this WebGPU device's " +
        'maxStorageBufferBindingSize of 128 MiB (a limit of the device, which no setting changes); use a smaller ' +
        'model or another backend (--backend wasm)',
    );
    // Refused before any of it reached the GPU.
    expect(tf.memory().numTensors).toBe(before);
    expect(webgpuFault()).toBeNull();
  });

  it('a tensor made past the limit anyway: the read throws, and the job ends naming the limits', async () => {
    expect(webgpuFault()).toBeNull();
    // 40 Mi floats (160 MiB) as one binding: WebGPU refuses the buffer, and its kernels would read zeros.
    const big = tf.fill([40 * 1024 * 1024], 1.5);
    const sum = tf.add(big, 1);
    expect(webgpuFault()).toMatchObject({ kind: 'validation' });
    let thrown: unknown;
    try {
      tf.slice(sum, [0], [4]).dataSync();
    } catch (error) {
      thrown = error;
    }
    expect(String(thrown)).toMatch(
      /the WebGPU device reported an error \(validation\): Binding size .* is larger than the maximum storage buffer binding size/,
    );
    const failure = await engineFailure(thrown, { backend: 'webgpu', what: 'run 7', kind: 'train' });
    expect(failure?.code).toBe('out_of_memory');
    expect(failure?.message).toMatch(
      /^run 7: a tensor was larger than the GPU allows on google swiftshader .*: this device allows 256 MiB in one buffer and 128 MiB bound to one kernel \(WebGPU: /,
    );
    expect(failure?.message).toContain('a smaller batch (--batch');
    expect(failure?.message).toContain('resuming does not help: change them in a new run.');
    big.dispose();
    sum.dispose();
  }, 60_000);
});
