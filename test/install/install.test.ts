import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, runCli, STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

let prefix: string;
beforeEach(() => {
  prefix = mkdtempSync(join(tmpdir(), 'directflip-prefix-'));
});
afterEach(() => rmSync(prefix, { recursive: true, force: true }));

const files = ['etc/libvirt/hooks/qemu.d/50-directflip', 'etc/systemd/system/directflipd.service', 'etc/dbus-1/system.d/io.github.directflip1.conf', 'usr/share/dbus-1/system-services/io.github.directflip1.service', 'usr/share/man/man1/directflip.1'];

test('install writes the hook, unit, policy and activation file, and prints each path', () => {
  const r = runCli(['install', '--prefix', prefix]);
  expect(r.status).toBe(0);
  for (const f of files) {
    expect(existsSync(join(prefix, f))).toBe(true);
    expect(r.stdout).toContain(join(prefix, f));
  }
  expect(statSync(join(prefix, files[0])).mode & 0o777).toBe(0o755);
  const shim = readFileSync(join(prefix, files[0]), 'utf8');
  expect(shim).toContain(`NODE="\${DIRECTFLIP_NODE:-${process.execPath}}"`);
  expect(shim).toContain(`HOME_DIR="\${DIRECTFLIP_HOME:-${REPO}}"`);
  expect(readFileSync(join(prefix, files[1]), 'utf8')).toMatch(/Type=dbus\nBusName=io.github.directflip1/);
  expect(r.stderr).toMatch(/libvirt looks for hooks only when it starts/);
  expect(readFileSync(join(prefix, files[4])).equals(readFileSync(join(REPO, 'man', 'directflip.1')))).toBe(true);
});

test('uninstall removes exactly what install wrote, and keeps a file changed since', () => {
  runCli(['install', '--prefix', prefix]);
  const mine = join(prefix, 'etc/libvirt/hooks/qemu.d/10-someone-else');
  writeFileSync(mine, '#!/bin/sh\n');
  writeFileSync(join(prefix, files[1]), 'edited by the admin\n');
  const r = runCli(['uninstall', '--prefix', prefix, '--json']);
  const j = JSON.parse(r.stdout);
  expect(j.removed.sort()).toEqual([files[0], files[2], files[3], files[4]].map((f) => join(prefix, f)).sort());
  expect(j.kept).toEqual([join(prefix, files[1])]);
  expect(existsSync(mine)).toBe(true);
  expect(existsSync(join(prefix, files[1]))).toBe(true);
});

test('--dry-run changes nothing; installing twice is fine', () => {
  const d = runCli(['install', '--prefix', prefix, '--dry-run']);
  expect(d.stdout).toMatch(/^would write /m);
  expect(existsSync(join(prefix, files[0]))).toBe(false);
  expect(runCli(['install', '--prefix', prefix]).status).toBe(0);
  expect(runCli(['install', '--prefix', prefix]).status).toBe(0);
  expect(JSON.parse(runCli(['uninstall', '--prefix', prefix, '--json']).stdout).removed).toHaveLength(files.length);
  expect(runCli(['uninstall', '--prefix', prefix]).stderr).toMatch(/nothing to uninstall/);
});

test('a damaged manifest is named and refused, never trusted: uninstall removes nothing', () => {
  expect(runCli(['install', '--prefix', prefix]).status).toBe(0);
  const manifest = join(prefix, 'var/lib/directflip/install-manifest.json');
  for (const bad of ['{"files": [{"path": 7}]}', 'null', '{not json', JSON.stringify({ files: 'all' })]) {
    writeFileSync(manifest, bad);
    for (const cmd of ['uninstall', 'install']) {
      const r = runCli([cmd, '--prefix', prefix]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/install-manifest\.json is not the manifest install writes .*: remove it and install again/);
      expect(r.stderr).not.toMatch(STACK_RE);
    }
    for (const f of files) expect(existsSync(join(prefix, f))).toBe(true);
  }
});

test('SIGINT in the middle of install waits for it to finish: every file whole, no temporary left', async () => {
  const hold = join(prefix, 'go');
  const preload = join(prefix, 'hold.js');
  // Holds the first rename (the hook shim's), the moment a half-done install would be left behind.
  writeFileSync(
    preload,
    `const fs = require('fs');
const real = fs.renameSync;
let first = true;
fs.renameSync = function (...a) {
  if (first) {
    first = false;
    fs.writeFileSync(${JSON.stringify(hold)} + '.held', '');
    const cell = new Int32Array(new SharedArrayBuffer(4));
    while (!fs.existsSync(${JSON.stringify(hold)})) Atomics.wait(cell, 0, 0, 10);
  }
  return real.apply(fs, a);
};`,
  );
  const root = join(prefix, 'root');
  const p = spawn(process.execPath, ['-r', preload, BIN, 'install', '--prefix', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<number | null>((res) => p.once('close', res));
  while (!existsSync(`${hold}.held`) && p.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  expect(existsSync(`${hold}.held`)).toBe(true); // else it ended before its first rename
  p.kill('SIGINT');
  writeFileSync(hold, '');
  expect([0, 130]).toContain(await done);
  for (const f of files) expect(existsSync(join(root, f))).toBe(true);
  expect(existsSync(join(root, 'var/lib/directflip/install-manifest.json'))).toBe(true);
  const leftovers = spawnSync('find', [root, '-name', '*.directflip-tmp'], { encoding: 'utf8' }).stdout;
  expect(leftovers).toBe('');
});
