#!/usr/bin/env node
'use strict';
// The hook runs for every VM start; design §5 wants its entry to load only what it uses, from one
// file. esbuild bundles dist/src/hook/main.js (config parser + D-Bus client) into dist/hook.js.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
esbuild.buildSync({
  entryPoints: [path.join(root, 'dist/src/hook/main.js')],
  outfile: path.join(root, 'dist/hook-bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Optional transports dbus-next never uses on a unix socket.
  external: ['x11', 'usocket'],
  logLevel: 'warning',
});

// dist/hook.js loads the bundle with a V8 code cache (scripts/hook-loader.js says why), made here
// by one prepare that finds no daemon: it compiles the config parser and the D-Bus client.
fs.copyFileSync(path.join(__dirname, 'hook-loader.js'), path.join(root, 'dist/hook.js'));
fs.rmSync(path.join(root, 'dist/hook-bundle.cache'), { force: true });
const nowhere = fs.mkdtempSync(path.join(os.tmpdir(), 'directflip-hook-cache-'));
try {
  spawnSync(process.execPath, [path.join(root, 'dist/hook.js'), 'code-cache', 'prepare', 'begin', '-'], {
    input: fs.readFileSync(path.join(root, 'examples/gvt-kiosk-hdmi.xml')),
    env: { PATH: process.env.PATH, DIRECTFLIP_HOOK_WRITE_CODE_CACHE: '1', DIRECTFLIP_BUS_ADDRESS: `unix:path=${nowhere}/bus`, DIRECTFLIP_RUN_DIR: nowhere, DIRECTFLIP_ROOT: nowhere, DIRECTFLIP_TIMEOUT_MS: '1000' },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
} finally {
  fs.rmSync(nowhere, { recursive: true, force: true });
}
if (!fs.existsSync(path.join(root, 'dist/hook-bundle.cache'))) console.warn('bundle-hook: no code cache was written; the hook starts without one');
