'use strict';
// Tests that run the CLI, the daemon or the hook as real processes need dist/ to match src/.
// `npm ci` builds it once (prepare); rebuilding here keeps a developer's edits and the tests in step.
// Under CI a type error anywhere fails the run here. On a developer's machine tsc still emits
// dist/ and ts-jest reports type errors in the files each test loads, so one unfinished file
// elsewhere in the tree does not stop every other test from running.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, '..', 'tsconfig.json')], { stdio: 'inherit' });
  } catch (e) {
    if (process.env.CI) throw e;
    process.stderr.write('global-setup: tsc reported type errors (above); dist/ was emitted anyway. CI fails on these.\n');
  }
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'bundle-hook.js')], { stdio: 'inherit' });
};
