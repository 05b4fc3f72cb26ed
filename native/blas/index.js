// Loads the addon if it was built; says why not otherwise. Never throws.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, 'build', 'Release', 'alol_blas.node');
let addon = null;
let error = null;

if (existsSync(file)) {
  try {
    addon = require(file);
  } catch (e) {
    error = `cannot load build/Release/alol_blas.node: ${String(e && e.message ? e.message : e).split('\n')[0]}`;
  }
} else {
  let failure = null;
  try {
    failure = JSON.parse(readFileSync(path.join(__dirname, 'build-status.json'), 'utf8')).error;
  } catch {
    // No status: the install script never ran (npm install --ignore-scripts).
  }
  error = failure
    ? `its build failed: ${failure}`
    : 'its install script did not run (npm install --ignore-scripts?); build it with `npm rebuild alol-blas`';
}

module.exports = { addon, error, file };
