/**
 * `alol doctor`: what this machine offers the studio (Node, tensor backend and why, every WebGPU
 * adapter with its key limits, Electron, project).
 */
import { electronStatus } from '../../shell/electronBinary';
import { adapterSummary, listWebgpuAdapters } from '../../lm/webgpu';
import { WASM_HEAP_BYTES, WASM_WORKING_BYTES, wasmTrainingCeilings } from '../../lm/trainingMemory';
import type { WebgpuAdapterReport } from '../../../shared/contract';
import { call, print, type Command } from '../kit';

/** What tfjs-node-gpu (the CUDA path, first when it loads) needs, said when it did not load. */
const CUDA_NEEDS =
  'tfjs-node-gpu needs libtensorflow 2.9 with CUDA 11.2 and cuDNN 8.1 on an x64 Linux or Windows machine with an NVIDIA GPU; WebGPU serves a GPU without it';

export const doctorCommands: Record<string, Command> = {
  doctor: {
    options: {},
    async run(backend, values) {
      const info = await call(backend, 'app.info', {}).catch((error: unknown) => error as Error);
      const electron = electronStatus();
      const tensorBackend = info instanceof Error ? null : info.tensorBackend;
      // The backend lists the adapters when it tried webgpu; otherwise (CUDA chosen first, or
      // another backend forced) they are listed here.
      const webgpu: { adapters: WebgpuAdapterReport[]; error: string | null } =
        tensorBackend?.adapters && tensorBackend.adapters.length > 0
          ? { adapters: tensorBackend.adapters, error: null }
          : await listWebgpuAdapters();
      const inUse = tensorBackend?.chosen === 'webgpu' ? (tensorBackend.adapter ?? null) : null;
      const cudaMissing = tensorBackend?.candidates.some((c) => c.name === 'tensorflow-gpu' && !c.available) ?? false;
      const report = {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        projectDir: backend.paths.dir,
        schemaVersion: info instanceof Error ? null : info.schemaVersion,
        tensorBackend: info instanceof Error ? { error: info.message } : info.tensorBackend,
        gpu: tensorBackend ? tensorBackend.chosen === 'tensorflow-gpu' || (inUse !== null && !inUse.fallback) : null,
        webgpu: { adapters: webgpu.adapters, inUse, error: webgpu.error },
        cuda: cudaMissing ? CUDA_NEEDS : null,
        // What trains on the wasm heap (cpu and GPU backends have no such ceiling).
        trainingMemory: {
          heapBytes: WASM_HEAP_BYTES,
          workingBytes: WASM_WORKING_BYTES,
          limited: tensorBackend?.chosen === 'wasm',
          ceilings: wasmTrainingCeilings(),
        },
        electron,
      };
      const adapterLines =
        webgpu.adapters.length === 0
          ? [`WebGPU adapters: none${webgpu.error ? ` (${webgpu.error})` : ''}`]
          : [
              'WebGPU adapters:',
              ...webgpu.adapters.map(
                (a) =>
                  `  ${inUse && adapterSummary(inUse) === adapterSummary(a) ? 'used' : '    '} ${adapterSummary(a)}` +
                  ` [${a.requestedAs}]`,
              ),
            ];
      print(values.json === true, report, () =>
        [
          `Node:            ${report.node} (${report.platform})`,
          `Project:         ${report.projectDir} (schema version ${report.schemaVersion ?? '?'})`,
          info instanceof Error
            ? `Tensor backend:  none: ${info.message}`
            : [
                `Tensor backend:  ${info.tensorBackend.chosen} (${info.tensorBackend.reason})`,
                ...info.tensorBackend.candidates.map(
                  (c) => `  ${c.available ? 'ok  ' : 'no  '} ${c.name}: ${c.detail}`,
                ),
              ].join('\n'),
          ...adapterLines,
          `GPU in use:      ${report.gpu ? 'yes' : 'no'}`,
          ...(report.cuda ? [`CUDA:            ${report.cuda}`] : []),
          `Training memory: ${
            report.trainingMemory.limited
              ? 'the wasm heap (4 GB) holds the weights, their gradients and activations; largest models that train:'
              : `not bounded by the wasm heap on ${tensorBackend?.chosen ?? 'this backend'}; on wasm the largest would be:`
          }`,
          ...report.trainingMemory.ceilings.map(
            (c) => `  ~${c.maxParameters / 1e6}M parameters: ${c.mode} (${c.algorithms.join(', ')})`,
          ),
          `Electron:        ${electron.usable ? 'usable' : 'not usable'}: ${electron.reason}`,
        ].join('\n'),
      );
    },
  },
};
