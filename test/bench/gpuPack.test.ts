/**
 * `npm run bench:gpu:pack` (bench/packGpuBench.mjs): the GPU benchmark as a folder under 60 MB that
 * runs with plain `node` where no node_modules can be found. The folder is packed into a temp dir,
 * copied to another (outside the repo, as onto another machine) and its script run there in
 * BENCH_CHECK mode on this machine's WebGPU adapter, SwiftShader.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/tempDir';
import { webgpuTestEnv } from '../lm/webgpu/helpers';

const root = join(__dirname, '..', '..');

function pack(out: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bench/packGpuBench.mjs'), out, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function sizeOf(path: string): number {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0) : s.size;
}

describe('the packed GPU benchmark', () => {
  const temp = useTempDir('alol-gpu-pack-');

  it('is one script, dawn.node and the wasm files, under 60 MB, and runs away from the repo', () => {
    const packed = join(temp(), 'gpu-bench');
    const made = pack(packed);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/limit 60\.0 MB/);
    for (const file of [
      'gpu-bench.mjs',
      'README.txt',
      'dist/linux-x64/dawn.node',
      'dist/darwin-universal/dawn.node',
      'tfjs-backend-wasm.wasm',
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
    ])
      expect(existsSync(join(packed, file)), file).toBe(true);
    expect(sizeOf(packed)).toBeLessThan(60e6);
    expect(readFileSync(join(packed, 'README.txt'), 'utf8')).toContain('node gpu-bench.mjs');

    const elsewhere = join(temp(), 'carried');
    cpSync(packed, elsewhere, { recursive: true });
    const run = spawnSync(process.execPath, ['gpu-bench.mjs'], {
      cwd: elsewhere,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ...webgpuTestEnv(), BENCH_CHECK: '1' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^WebGPU adapter: google swiftshader .*fallback/m);
    // The BLAS addon travels in the folder; on this machine (which built it) it loads.
    expect(run.stdout).toMatch(/^wasm: wasm \+ OpenBLAS matmul/m);
    expect(run.stdout).toMatch(/^check: a 64 x 64 matMul on webgpu and on wasm agree/m);
  });

  it('refuses a folder over the budget, naming its size', () => {
    const made = pack(join(temp(), 'too-big'), '--platforms=linux-x64,darwin-universal,win32-x64');
    expect(made.status).toBe(1);
    expect(made.stderr).toMatch(/the folder is \d+\.\d MB, over the 60\.0 MB budget/);
  });
});
