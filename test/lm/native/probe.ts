/**
 * Run as its own process by nativeBlas.test.ts (node --import tsx probe.ts), so each environment
 * (ALOL_NATIVE_BLAS=0, ALOL_BLAS_LIBRARY=...) starts the backend from scratch. Prints one JSON
 * object: the backend report, the BLAS status, and one product checked against plain JavaScript.
 */
import * as tf from '@tensorflow/tfjs';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { nativeBlasStatus } from '../../../src/main/lm/nativeBlas';

const report = await initTensorBackend({ name: 'wasm', by: 'probe' });
const [m, k, n] = [33, 17, 9];
const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
const got = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync();
let worst = 0;
for (let i = 0; i < m; i++) {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let q = 0; q < k; q++) sum += a[i * k + q]! * b[q * n + j]!;
    worst = Math.max(worst, Math.abs(got[i * n + j]! - sum));
  }
}
console.log(JSON.stringify({ report, status: nativeBlasStatus(), productError: worst }));
