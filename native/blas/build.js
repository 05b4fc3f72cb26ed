// The install script: node-gyp rebuild, never failing the install. What went wrong is kept in
// build-status.json for index.js to report (`alol doctor`, the studio's status bar), and the
// studio runs on plain wasm.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const status = path.join(__dirname, 'build-status.json');
rmSync(status, { force: true });

function nodeGyp() {
  // npm gives lifecycle scripts its bundled node-gyp; fall back to one on PATH.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return { command: process.execPath, args: [bundled] };
  return { command: process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp', args: [] };
}

const gyp = nodeGyp();
const run = spawnSync(gyp.command, [...gyp.args, 'rebuild'], {
  cwd: __dirname,
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
const built = path.join(__dirname, 'build', 'Release', 'alol_blas.node');
if (run.status === 0 && existsSync(built)) {
  console.log('alol-blas: built; the wasm backend will use a BLAS library for matrix products when one is installed');
} else {
  const output = `${run.stderr ?? ''}\n${run.stdout ?? ''}`;
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('gyp info'));
  // A compiler's "error:" line says most, then a missing tool (gyp's Python traceback ends in
  // "FileNotFoundError: ... 'cc'", a shell in "cc: not found"), else node-gyp's own reason.
  const firstError =
    lines.find((l) => /\berror:/i.test(l) && !l.startsWith('gyp')) ??
    lines.find((l) => /^[A-Za-z.]*Error: /.test(l)) ??
    lines.find((l) => /not found|No such file/i.test(l) && !l.startsWith('gyp')) ??
    lines.find((l) => /^gyp ERR! stack Error:/.test(l))?.replace(/^gyp ERR! stack /, '') ??
    lines.find((l) => /^gyp ERR!/.test(l) && !/^gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v)/.test(l));
  const headers = /gyp http GET \S*headers/.test(output) && /gyp ERR! configure error/.test(output);
  const error = run.error
    ? `${gyp.command}: ${run.error.message}`
    : headers
      ? "node-gyp could not download Node's headers (offline? point npm at local ones: npm config set nodedir /usr)"
      : `node-gyp rebuild exited ${run.status}${firstError ? `: ${firstError}` : ''}`;
  writeFileSync(
    status,
    `${JSON.stringify({ ok: false, error: error.slice(0, 500), at: new Date().toISOString() }, null, 2)}\n`,
  );
  console.warn(
    `alol-blas: not built (${error.slice(0, 300)}); A-LoL Studio works without it, on plain wasm matrix products`,
  );
}
process.exit(0);
