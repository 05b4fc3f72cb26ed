#!/usr/bin/env node
/**
 * `npm run bench:lock` (after a build): how long another writer waits for SQLite's write lock while
 * `alol import` writes a 300,000-row file into the same project, as a rating submit or a training
 * step would. A probe process takes the lock (BEGIN IMMEDIATE, timed alone) every 20 ms throughout
 * and prints its waits; beside it, the same rows written the old way, in one transaction, with the
 * same probe. Figures, not assertions. The project is on /dev/shm where there is one, so the
 * figures are lock holding, not fsync.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROWS = 300_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'alol-lock-'));
const alol = (args) => {
  const run = spawnSync(process.execPath, [join(root, 'bin/alol.js'), ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`alol ${args.join(' ')}: ${run.stdout}${run.stderr}`);
};

/** The probe: a child process that takes the write lock every 20 ms until told to stop; its waits. */
const PROBE = `
const Database = require(${JSON.stringify(join(root, 'node_modules/better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 60000');
const waits = [];
const nap = new Int32Array(new SharedArrayBuffer(4));
let stop = false;
process.on('message', () => (stop = true));
(function loop() {
  if (stop) return process.send(waits, () => process.exit(0));
  const t = performance.now();
  db.exec('BEGIN IMMEDIATE');
  waits.push(performance.now() - t);
  db.exec('COMMIT');
  Atomics.wait(nap, 0, 0, 20);
  setImmediate(loop);
})();`;

function probe(file) {
  const child = spawn(process.execPath, ['-e', PROBE, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('stop');
      }),
  };
}

function describe(waits) {
  const sorted = [...waits].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  return `${sorted.length} waits: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${sorted.at(-1).toFixed(1)} ms, over 50 ms: ${sorted.filter((w) => w > 50).length}`;
}

try {
  const file = join(work, 'rows.jsonl');
  const rows = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({
      prompt: `Prompt number ${i} asks something`,
      response: `Response ${i}, a few words`,
      reward: i % 7,
    }),
  );
  writeFileSync(file, `${rows.join('\n')}\n`);
  const small = join(work, 'small.jsonl');
  writeFileSync(small, `${rows.slice(0, 10).join('\n')}\n`);
  console.log(`Write-lock waits of a second writer during a ${ROWS.toLocaleString()}-row import (${work})`);

  // The old way: every row in one transaction.
  const old = join(work, 'old');
  alol(['import', small, '--name', 'seed', '--project', old]);
  const db = new Database(join(old, 'studio.db'));
  db.pragma('busy_timeout = 60000');
  const versionId = db.prepare('SELECT id FROM dataset_versions LIMIT 1').get().id;
  const insert = db.prepare('INSERT INTO examples (version_id, line, prompt, response, reward) VALUES (?, ?, ?, ?, ?)');
  let p = probe(join(old, 'studio.db'));
  await new Promise((r) => setTimeout(r, 300));
  const t = performance.now();
  db.transaction(() => rows.forEach((_, i) => insert.run(versionId, i, `Prompt ${i}`, `Response ${i}`, i % 7)))();
  const held = performance.now() - t;
  await new Promise((r) => setTimeout(r, 300));
  console.log(`  one transaction (held ${held.toFixed(0)} ms): ${describe(await p.stop())}`);
  db.close();

  // alol import as it is.
  const now = join(work, 'now');
  alol(['import', small, '--name', 'seed', '--project', now]);
  p = probe(join(now, 'studio.db'));
  const started = performance.now();
  alol(['import', file, '--name', 'rows', '--project', now]);
  const seconds = (performance.now() - started) / 1000;
  console.log(`  alol import (${seconds.toFixed(1)} s): ${describe(await p.stop())}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
