#!/usr/bin/env node
'use strict';
// The hook runs for every VM start; design §5 wants its entry to load only what it uses, from one
// file. esbuild bundles dist/src/hook/main.js (config parser + D-Bus client) into dist/hook.js.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
esbuild.buildSync({
  entryPoints: [path.join(root, 'dist/src/hook/main.js')],
  outfile: path.join(root, 'dist/hook.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Optional transports dbus-next never uses on a unix socket.
  external: ['x11', 'usocket'],
  logLevel: 'warning',
});
