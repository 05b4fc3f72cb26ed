/**
 * `npm run bench:gpu:pack [folder] [--platforms=linux-x64,darwin-universal]`: bench/gpu.bench.ts as a
 * folder that runs with `node gpu-bench.mjs` and nothing else installed, to carry to a machine with a
 * GPU and no network. Default folder dist/gpu-bench/. It holds:
 *
 *   gpu-bench.mjs                      the bench with tfjs, its wasm and webgpu backends and the
 *                                      webgpu package's JS bundled in (esbuild)
 *   dist/<platform>/dawn.node          Dawn, where the webgpu package's JS looks for it (beside the
 *                                      script, as in the package); win32 also needs its two DLLs
 *   tfjs-backend-wasm*.wasm            where tfjs-backend-wasm looks (the script's folder)
 *   node_modules/alol-blas/            the BLAS addon (this machine's build: linux-x64), when built;
 *                                      anywhere it does not load the bench says so and uses plain wasm
 *   README.txt                         the command and its settings
 *
 * The folder must stay under 60 MB (the budget); each dawn.node is 12-22 MB, so only some
 * platforms fit: the default ships linux-x64 and macOS. The pack fails when the folder is over.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT_BYTES = 60e6;
const DEFAULT_PLATFORMS = ['linux-x64', 'darwin-universal'];
// Beside each platform's dawn.node (dawn.node loads the DLLs from its own folder on Windows).
const RUNTIME_FILES = {
  'win32-x64': ['d3dcompiler_47.dll', 'dxcompiler.dll'],
  'win32-arm64': ['d3dcompiler_47.dll', 'dxcompiler.dll'],
};

function parseArgs(argv) {
  let out = join(root, 'dist', 'gpu-bench');
  let platforms = DEFAULT_PLATFORMS;
  for (const arg of argv) {
    if (arg.startsWith('--platforms=')) platforms = arg.slice('--platforms='.length).split(',').filter(Boolean);
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg} (the options: [folder] --platforms=a,b)`);
    else out = resolve(arg);
  }
  return { out, platforms };
}

/**
 * src/main loads its optional packages by a variable name (`const name = 'webgpu'; import(name)`)
 * so that the app's bundler leaves them to Node. Here they are to be bundled: the literal goes back
 * into the import. A file where a name has no literal fails the pack rather than ship a bundle that
 * would look for node_modules at run time.
 */
const inlineOptionalImports = {
  name: 'inline-optional-imports',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]main[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace(/import\(\s*\/\* @vite-ignore \*\/\s*(\w+)\s*\)/g, (_, name) => {
        const literal = new RegExp(`const ${name} = ('[^']+');`).exec(source);
        if (!literal) throw new Error(`${relative(root, args.path)}: import(${name}) has no const ${name} = '...'`);
        return `import(${literal[1]})`;
      });
      return { contents, loader: 'ts' };
    });
  },
};

// The webgpu package and tfjs's wasm loader are ES modules and CommonJS that look for files beside
// themselves (import.meta.url, __dirname); in the one ES module both mean the bundle's folder.
const BANNER = [
  "import { createRequire as __packCreateRequire } from 'node:module';",
  "import { fileURLToPath as __packFileURLToPath } from 'node:url';",
  "import { dirname as __packDirname } from 'node:path';",
  'const require = __packCreateRequire(import.meta.url);',
  'const __filename = __packFileURLToPath(import.meta.url);',
  'const __dirname = __packDirname(__filename);',
].join('\n');

function sizeOf(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

function readme(platforms, blas) {
  return `A-LoL Studio GPU benchmark (bench/gpu.bench.ts), packed by \`npm run bench:gpu:pack\`.
Needs Node 20 or newer and nothing else: no npm install, no network.

    node gpu-bench.mjs

It prints the WebGPU adapter, then tokens/s for the forward pass, a training step and greedy
KV-cache sampling on webgpu and on wasm + BLAS, for the 3.3M bench model, GPT-2 small (124M) and
the SmolLM2-135M shape, with random weights.

Settings (environment variables):
  BENCH_ONLY=3.3M|gpt2|smollm   one shape
  BENCH_STEPS=n                 timed steps (default 3 on a GPU, 1 on a fallback adapter)
  BENCH_ALL=1                   the two large shapes on a fallback adapter too (tens of minutes)
  BENCH_CHECK=1                 only the adapter, the wasm line and one small matMul on each backend
  (a fallback adapter such as SwiftShader is used when it is all there is, and the output says so:
  its figures measure the emulation, not a GPU)
  VK_ICD_FILENAMES=...          Linux: the Vulkan driver to use; without it and without a GPU device
                                node, /usr/lib/chromium/vk_swiftshader_icd.json when it is there
  ALOL_NATIVE_BLAS=0            plain wasm matMul instead of the BLAS addon

Platforms with a dawn.node here: ${platforms.join(', ')} (dist/<platform>/dawn.node); the others did
not fit in the 60 MB budget (repack with --platforms=... for another one).
BLAS addon: ${blas}
`;
}

async function pack({ out, platforms }) {
  for (const p of platforms) {
    if (!existsSync(join(root, 'node_modules/webgpu/dist', p, 'dawn.node')))
      throw new Error(`no dawn.node for platform ${p} in node_modules/webgpu/dist/`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(root, 'bench/gpu.bench.ts')],
    outfile: join(out, 'gpu-bench.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    plugins: [inlineOptionalImports],
    // The BLAS addon stays a run-time require (nativeBlas.ts): it is found in ./node_modules or not at all.
    logLevel: 'warning',
  });
  for (const p of platforms) {
    const from = join(root, 'node_modules/webgpu/dist', p);
    for (const name of ['dawn.node', ...(RUNTIME_FILES[p] ?? [])]) cpSync(join(from, name), join(out, 'dist', p, name));
  }
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const name of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm')))
    cpSync(join(wasmDir, name), join(out, name));
  const addon = join(root, 'native/blas/build/Release/alol_blas.node');
  let blas;
  if (existsSync(addon)) {
    const to = join(out, 'node_modules/alol-blas');
    for (const name of ['index.js', 'package.json']) cpSync(join(root, 'native/blas', name), join(to, name));
    cpSync(addon, join(to, 'build/Release/alol_blas.node'));
    blas = `node_modules/alol-blas, built on ${process.platform}-${process.arch}; it also needs a BLAS library at run time (libopenblas0-pthread on Debian), and where either is missing the bench says so and runs plain wasm.`;
  } else {
    blas = 'not included (native/blas was not built where this was packed): wasm runs its own matMul.';
  }
  writeFileSync(join(out, 'README.txt'), readme(platforms, blas));
  const total = sizeOf(out);
  console.log(`${relative(process.cwd(), out) || '.'}: ${mb(total)} (${total} bytes; limit ${mb(LIMIT_BYTES)})`);
  console.log(`  gpu-bench.mjs ${mb(sizeOf(join(out, 'gpu-bench.mjs')))}`);
  for (const p of platforms) console.log(`  dist/${p} ${mb(sizeOf(join(out, 'dist', p)))}`);
  console.log(`  BLAS addon: ${existsSync(addon) ? 'included' : 'not built, left out'}`);
  if (total >= LIMIT_BYTES)
    throw new Error(`the folder is ${mb(total)}, over the ${mb(LIMIT_BYTES)} budget: pack fewer --platforms`);
}

pack(parseArgs(process.argv.slice(2))).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
