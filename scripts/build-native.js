#!/usr/bin/env node
'use strict';
// Builds native/ into build/Release/directflip_native.node during `npm ci` (the install script).
// Headers only: node's own (npm's nodedir) and the kernel UAPI. No downloads, no prebuilt binaries.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const needed = [
  ['/usr/include/libdrm/drm_mode.h', 'libdrm-dev'],
  ['/usr/include/linux/vfio.h', 'linux-libc-dev'],
];
const missing = needed.filter(([f]) => !fs.existsSync(f));
if (missing.length) {
  const pkgs = missing.map(([, p]) => p).join(' ');
  console.error(`directflip: cannot build the native addon: ${missing.map(([f]) => f).join(', ')} missing.`);
  console.error(`Install the kernel UAPI headers and retry:  apt-get install ${pkgs}   (or run scripts/setup.sh)`);
  process.exit(1);
}
// Node's headers come with this node (`<prefix>/include/node`); node-gyp must not fetch them.
const nodedir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node_version.h'))) {
  console.error(`directflip: node's headers are not under ${nodedir}/include/node; set npm_config_nodedir to a node source or headers directory.`);
  process.exit(1);
}
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('directflip: the native addon failed to build (see the compiler output above).');
  process.exit(r.status ?? 1);
}
