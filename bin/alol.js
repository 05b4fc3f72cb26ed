#!/usr/bin/env node
// The `alol` command runs the built CLI (npm install builds it; so does npm run build).
import { existsSync } from 'node:fs';

const cli = new URL('../out/main/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('alol: the studio is not built yet: run `npm run build` in the A-LoL Studio folder');
  process.exit(1);
}
await import(cli.href);
