/**
 * WebGPU tests run on a real WebGPU device: in CI and on this machine that is SwiftShader (a
 * CPU-emulated Vulkan adapter Debian's chromium ships), which WebGPU marks as a fallback adapter, so
 * the tests allow it. They never skip: without an adapter they fail (CI installs libvulkan1 and
 * chromium, .ci/run).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { startWebgpu, type WebgpuStarted } from '../../../src/main/lm/webgpu';
import { installNativeBlas } from '../../../src/main/lm/nativeBlas';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The environment the tests give Dawn: SwiftShader's Vulkan ICD, the fallback adapter allowed. */
export function webgpuTestEnv(): Record<string, string> {
  return {
    VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
    ALOL_WEBGPU_ALLOW_FALLBACK: '1',
  };
}

let started: WebgpuStarted | null = null;

/** Starts wasm (with the BLAS when it is there) and webgpu in this process; wasm is current after. */
export async function startBoth(): Promise<WebgpuStarted> {
  Object.assign(process.env, webgpuTestEnv());
  started ??= await startWebgpu({ allowFallback: true });
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start');
  installNativeBlas();
  return started;
}

/** Runs fn on `name`, checking that webgpu really runs on SwiftShader when it is webgpu. */
export async function on<T>(name: 'wasm' | 'webgpu', fn: () => T | Promise<T>): Promise<T> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  expect(tf.getBackend()).toBe(name);
  if (name === 'webgpu') expect(started?.adapter.architecture).toBe('swiftshader');
  return await fn();
}

/** max |a - b| / (|b| + floor), elementwise. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor: number): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + floor));
  return worst;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
