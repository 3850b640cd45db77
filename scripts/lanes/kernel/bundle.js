#!/usr/bin/env node
'use strict';
// Bundles the in-guest test runner, the contract suites and the lane's own tests
// (test/kernel-lane/main.ts) into one CommonJS file for the guest's node: no node_modules there.
// The addon stays outside (loaded from build/Release relative to the bundle, as src/kernel/native.ts
// does from dist/). Usage: bundle.js OUTFILE
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..', '..', '..');
const outfile = process.argv[2];
if (!outfile) {
  console.error('usage: bundle.js OUTFILE');
  process.exit(2);
}
esbuild.buildSync({
  entryPoints: [path.join(root, 'test/kernel-lane/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  tsconfig: path.join(root, 'tsconfig.json'),
  // Optional transports dbus-next never uses on a unix socket.
  external: ['x11', 'usocket'],
  logLevel: 'warning',
});
