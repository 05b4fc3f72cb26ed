#!/usr/bin/env node
/**
 * `npm run bench`: figures, not assertions. Import throughput of the real pipeline (the `alol`
 * CLI: parse, validate, summarise, one transaction in a job process) beside a bare better-sqlite3
 * prepared insert of the same rows, in one run on this machine, and the ratio between them.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'alol-bench-'));
const ROWS = 200_000;

function timeCli(args) {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [join(root, 'bin/alol.js'), ...args, '--json'], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`alol ${args.join(' ')} failed: ${run.stdout}${run.stderr}`);
  return { seconds, result: JSON.parse(run.stdout) };
}

function syntheticRows(n) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      prompt: `\n\nHuman: Question number ${i}: ${'how does this work? '.repeat(4)}\n\nAssistant:`,
      response: ` Answer ${i}: ${'it works like this. '.repeat(6)}`,
      reward: (i % 100) / 100,
    });
  }
  return rows;
}

function bareInsert(rows) {
  const db = new Database(join(work, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE examples (id INTEGER PRIMARY KEY, line INTEGER, prompt TEXT, response TEXT, reward REAL)');
  const insert = db.prepare('INSERT INTO examples (line, prompt, response, reward) VALUES (?, ?, ?, ?)');
  const started = process.hrtime.bigint();
  db.transaction(() => rows.forEach((r, i) => insert.run(i + 1, r.prompt, r.response, r.reward)))();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return seconds;
}

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

try {
  const rows = syntheticRows(ROWS);
  const jsonl = join(work, 'triples.jsonl');
  writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const gz = join(work, 'triples.jsonl.gz');
  writeFileSync(gz, gzipSync(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  const mb = statSync(jsonl).size / 1e6;

  const bare = bareInsert(rows);
  const plain = timeCli(['import', jsonl, '--name', 'bench', '--project', join(work, 'p1')]);
  const zipped = timeCli(['import', gz, '--name', 'bench', '--project', join(work, 'p2')]);
  const startup = timeCli(['datasets', '--project', join(work, 'p1')]);

  console.log(`A-LoL Studio import benchmark (${process.version}, ${process.platform} ${process.arch})`);
  console.log(`synthetic (prompt, response, reward) JSONL: ${fmt(ROWS)} rows, ${fmt(mb, 1)} MB`);
  console.log(`  bare better-sqlite3 insert, one transaction: ${fmt(ROWS / bare)} rows/s (${fmt(bare, 2)} s)`);
  console.log(
    `  alol import (whole CLI run, job process):   ${fmt(ROWS / plain.seconds)} rows/s (${fmt(plain.seconds, 2)} s), ${fmt(mb / plain.seconds, 1)} MB/s`,
  );
  console.log(
    `  alol import of the same file gzipped:        ${fmt(ROWS / zipped.seconds)} rows/s (${fmt(zipped.seconds, 2)} s)`,
  );
  console.log(`  ratio import / bare insert: ${fmt(bare / plain.seconds, 2)}x`);
  console.log(`  CLI start-up (alol datasets): ${fmt(startup.seconds * 1000)} ms`);

  const hh = join(root, '../shared/data/hh-rlhf-harmless-base-test.jsonl.gz');
  if (existsSync(hh)) {
    const real = timeCli(['import', hh, '--name', 'hh', '--project', join(work, 'p3')]);
    console.log(
      `real HH-RLHF harmless-base test (${fmt(real.result.pairs)} pairs, gzip): ${fmt(real.seconds, 2)} s for the whole CLI run`,
    );
  } else {
    console.log(`real HH-RLHF file not found at ${hh}: skipped that figure`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
