'use strict';
// Tests that run the CLI, the daemon or the hook as real processes need dist/ to match src/.
// `npm ci` builds it once (prepare); rebuilding here keeps a developer's edits and the tests in step.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, '..', 'tsconfig.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'bundle-hook.js')], { stdio: 'inherit' });
};
