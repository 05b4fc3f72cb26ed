/**
 * `alol doctor` (the built CLI, in a child process) on this machine's WebGPU adapter, SwiftShader:
 * listed with its vendor, architecture, fallback flag and limits; passed over as a fallback adapter
 * unless allowed (ALOL_WEBGPU_ALLOW_FALLBACK=1) or forced (--backend webgpu), then chosen.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../../helpers/cli';
import type { TensorBackendReport, WebgpuAdapterReport } from '../../../src/shared/contract';
import { SWIFTSHADER_ICD } from './helpers';

interface DoctorJson {
  tensorBackend: TensorBackendReport;
  webgpu: { adapters: WebgpuAdapterReport[]; inUse: WebgpuAdapterReport | null };
  gpu: boolean;
}

const icd = { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD };
const project = () => mkdtempSync(join(tmpdir(), 'alol-webgpu-doctor-'));

function doctor(args: string[], env: Record<string, string>): DoctorJson {
  const run = alol(['doctor', '--project', project(), '--json', ...args], { ...icd, ...env });
  expect(run.status, run.stderr).toBe(0);
  return run.json() as DoctorJson;
}

function expectSwiftshader(adapters: WebgpuAdapterReport[]): void {
  const swiftshader = adapters.find((a) => a.architecture === 'swiftshader');
  expect(swiftshader).toMatchObject({ vendor: 'google', fallback: true });
  expect(swiftshader!.limits.maxBufferSize).toBeGreaterThan(0);
  expect(swiftshader!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
}

describe('alol doctor and the WebGPU adapter', () => {
  it('lists SwiftShader and passes it over as a fallback adapter by default', () => {
    const report = doctor([], { ALOL_WEBGPU_ALLOW_FALLBACK: '0' });
    const webgpu = report.tensorBackend.candidates.find((c) => c.name === 'webgpu');
    expect(webgpu).toMatchObject({ available: false });
    expect(webgpu!.detail).toMatch(/fallback adapter.*passed over/);
    expect(report.tensorBackend.chosen).not.toBe('webgpu');
    expect(report.tensorBackend.reason).toMatch(/passed over .*webgpu: only a fallback adapter/);
    expectSwiftshader(report.tensorBackend.adapters ?? []);
    expectSwiftshader(report.webgpu.adapters);
    expect(report.webgpu.inUse).toBeNull();
    expect(report.gpu).toBe(false);
  }, 120_000);

  it('chooses it when the fallback is allowed, and when webgpu is forced', () => {
    const allowed = doctor([], { ALOL_WEBGPU_ALLOW_FALLBACK: '1' });
    expect(allowed.tensorBackend).toMatchObject({ chosen: 'webgpu', tfBackend: 'webgpu' });
    expect(allowed.tensorBackend.adapter).toMatchObject({ architecture: 'swiftshader', fallback: true });
    expect(allowed.tensorBackend.candidates.find((c) => c.name === 'webgpu')!.detail).toMatch(/swiftshader/);
    expect(allowed.webgpu.inUse).toMatchObject({ architecture: 'swiftshader' });
    // A CPU-emulated adapter is not a GPU.
    expect(allowed.gpu).toBe(false);

    const forced = doctor(['--backend', 'webgpu'], { ALOL_WEBGPU_ALLOW_FALLBACK: '0' });
    expect(forced.tensorBackend).toMatchObject({ chosen: 'webgpu', reason: 'forced by --backend' });
    expectSwiftshader(forced.tensorBackend.adapters ?? []);
  }, 120_000);
});
