/**
 * One data-parallel replica in a worker thread: its own TensorFlow.js and wasm instance (one core),
 * its own copy of the model. Each step it copies the shared parameters in, sums the gradients of its
 * micro-batches, and writes them to its shared gradient buffer. It never updates parameters itself:
 * the main thread's optimizer is the only writer, so every replica holds the same bits.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { sameShape } from '../config';
import { nativeBlasStatus, setNativeBlasEnabled } from '../nativeBlas';
import { gradientSum } from '../trainer';
import type { CreateReplica, FromWorker, ToWorker, WorkerData } from './task';

const port = parentPort;
if (!port) throw new Error('parallel/worker.ts runs only as a worker thread');
const data = workerData as WorkerData;

/**
 * This thread's CPU seconds so far, from Linux's /proc/thread-self/stat (utime + stime, in ticks of
 * 1/100 s), or null elsewhere. Node 20 has no per-thread CPU clock, and process.cpuUsage() counts
 * every thread; this one tells a worker's own work from time spent waiting for a busy core.
 */
function threadCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function send(message: FromWorker): void {
  port!.postMessage(message);
}

function sendError(error: unknown): void {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
}

async function main(): Promise<void> {
  // On wasm this installs the BLAS product if it can, with one BLAS thread (a worker is not the main thread).
  await initBackend({ name: data.backend, by: 'data-parallel worker' });
  if (!data.nativeBlas) setNativeBlasEnabled(false);
  const task = (await import(data.taskUrl)) as { createReplica?: CreateReplica<unknown, unknown> };
  if (typeof task.createReplica !== 'function') throw new Error(`${data.taskUrl} exports no createReplica`);
  const replica = await task.createReplica(data.init);
  for (const slot of data.slots) {
    const p = replica.params.get(slot.name);
    if (!p || !sameShape(p.shape, slot.shape)) {
      throw new Error(`replica parameter ${slot.name}: [${p?.shape ?? 'missing'}], main thread has [${slot.shape}]`);
    }
  }
  if (replica.params.size !== data.slots.length) throw new Error(`replica has ${replica.params.size} parameters, main thread ${data.slots.length}`);
  const params = new Float32Array(data.params);
  const grads = new Float32Array(data.grads);

  port!.on('message', (message: ToWorker<unknown>) => {
    try {
      const started = performance.now();
      const cpuStarted = threadCpuSeconds();
      for (const slot of data.slots) {
        const p = replica.params.get(slot.name)!;
        tf.tidy(() => p.assign(tf.tensor(params.subarray(slot.offset, slot.offset + slot.size), slot.shape, 'float32')));
      }
      const g = gradientSum(replica.params, message.microBatches, replica.loss);
      for (const slot of data.slots) {
        const t = g.sum.get(slot.name);
        const region = grads.subarray(slot.offset, slot.offset + slot.size);
        if (t) region.set(t.dataSync());
        else region.fill(0);
        t?.dispose();
      }
      const cpuEnded = threadCpuSeconds();
      send({
        type: 'done',
        losses: g.losses,
        metrics: g.metrics,
        present: [...g.sum.keys()],
        seconds: (performance.now() - started) / 1000,
        cpuSeconds: cpuStarted === null || cpuEnded === null ? null : cpuEnded - cpuStarted,
      });
    } catch (error) {
      sendError(error);
    }
  });
  send({ type: 'ready', products: data.backend === 'wasm' ? nativeBlasStatus().summary : `${data.backend} backend` });
}

main().catch(sendError);
