import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SysPaths } from '../../src/sys/paths';
import { allowedFeatures, listenerInterfaceFor } from '../../src/versions/allow';
import { readHostVersions } from '../../src/versions/read';
import { runCli, STACK_RE } from '../helpers/cli';

test('probe --host sim:gvt-skylake --json: 3 connectors, 3 CRTCs, 15 planes, 2 mdevs that GVT-g will not open for us', () => {
  const r = runCli(['probe', '--host', 'sim:gvt-skylake', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect([j.connectors.length, j.crtcs.length, j.planes.length, j.mdevs.length]).toEqual([3, 3, 15, 2]);
  expect(j.mdevs[0]).toMatchObject({ parent: '0000:00:02.0', type: 'i915-GVTg_V5_4', errorCode: 'ESRCH', methods: [] });
  expect(j.mdevs[0].unavailable).toMatch(/only the VM's QEMU may open it \(ESRCH\)/);
  expect(j.planes.filter((p: { type: string }) => p.type === 'cursor')).toHaveLength(3);
  expect(j.connectors.find((c: { name: string }) => c.name === 'HDMI-A-1').crtcId).toBeGreaterThan(0);
});

test('probe --host sim:vkms --json: 10 planes and the mbochs mdev with a DMABUF primary plane', () => {
  const r = runCli(['probe', '--host', 'sim:vkms', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.planes).toHaveLength(10);
  expect(j.mdevs).toHaveLength(1);
  expect(j.mdevs[0]).toMatchObject({ parent: 'mbochs', type: 'mbochs-medium', methods: ['dmabuf'] });
  expect(j.mdevs[0].planes[0]).toEqual({ plane: 'primary', format: 'XR24', modifier: 'LINEAR', width: 1024, height: 768 });
  expect(j.mdevs[0].planes[1].format).toBeNull();
});

test('probe prints readable tables', () => {
  const r = runCli(['probe', '--host', 'sim:gvt-skylake']);
  expect(r.status).toBe(0);
  for (const want of ['Connectors', 'HDMI-A-1', 'CRTCs', 'Planes', 'mdevs', 'ESRCH']) expect(r.stdout).toContain(want);
});

test('probe on a host without DRM says so and how to try the simulator', () => {
  const r = runCli(['probe']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/no DRM device under \/dev\/dri.*--host sim:gvt-skylake/);
  expect(r.stderr).not.toMatch(STACK_RE);
  const j = runCli(['probe', '--json', '--host', 'sim:missing']);
  expect(j.status).toBe(1);
  expect(JSON.parse(j.stdout).error.message).toMatch(/known profiles/);
});

test('probe --help explains --host with examples', () => {
  const r = runCli(['probe', '--help']);
  for (const want of ['--host', 'sim:PROFILE', '--json', 'Examples:', 'EBUSY', 'ESRCH']) expect(r.stdout).toContain(want);
});

describe('versions: read from the host\'s binaries and /proc, and what they allow', () => {

  /** A root with a QEMU and a libvirt that print what Debian's print. */
  function rootWith(qemu: string | null, libvirtd: string | null, virtqemud: string | null, release = '6.1.0-18-amd64'): string {
    const root = mkdtempSync(join(tmpdir(), 'directflip-versions-'));
    const bin = (p: string, out: string) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), `#!/bin/sh\ncat <<'EOF'\n${out}\nEOF\n`);
      chmodSync(join(root, p), 0o755);
    };
    if (qemu) bin('usr/bin/qemu-system-x86_64', `QEMU emulator version ${qemu} (Debian 1:7.2+dfsg-7+deb12u7)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers`);
    if (libvirtd) bin('usr/sbin/libvirtd', `libvirtd (libvirt) ${libvirtd}`);
    if (virtqemud) bin('usr/sbin/virtqemud', `virtqemud (libvirt) ${virtqemud}`);
    mkdirSync(join(root, 'proc/sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${release}\n`);
    return root;
  }

  test('Debian 12 as installed: QEMU 7.2.13, libvirtd 9.0.0, kernel 6.1: qemu-dbus yes, Map and the shutoff reason no', () => {
    const root = rootWith('7.2.13', '9.0.0', null);
    try {
      const v = readHostVersions(new SysPaths(root));
      expect(v.qemu).toEqual({ version: '7.2.13', from: `${root}/usr/bin/qemu-system-x86_64 --version` });
      expect(v.libvirt).toMatchObject({ version: '9.0.0', daemon: 'libvirtd' });
      expect(v.kernel?.version).toBe('6.1.0-18-amd64');
      const a = Object.fromEntries(allowedFeatures(v).map((f) => [f.id, f]));
      expect([a['qemu-dbus-display'].allowed, a['libvirt-dbus-graphics'].allowed, a['hook-dropins'].allowed]).toEqual([true, true, true]);
      expect(a['listener-unix-map']).toMatchObject({ allowed: false, why: 'needs QEMU ≥ 9.2; this host has QEMU 7.2.13' });
      expect(a['release-shutoff-reason']).toMatchObject({ allowed: false, why: 'needs libvirt ≥ 10.5; this host has libvirt 9.0.0' });
      expect(listenerInterfaceFor(v, ['org.qemu.Display1.Listener.Unix.Map']).interfaces).toEqual(['org.qemu.Display1.Listener']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('bookworm-backports: QEMU 10.0.2 and virtqemud 11.3.0: Map and the shutoff reason yes, ScanoutDMABUF2 not before 10.1', () => {
    const root = rootWith('10.0.2', '11.3.0', '11.3.0', '6.12.95+bpo-amd64');
    try {
      const v = readHostVersions(new SysPaths(root));
      expect(v.libvirt).toMatchObject({ version: '11.3.0', daemon: 'virtqemud' });
      const a = Object.fromEntries(allowedFeatures(v).map((f) => [f.id, f.allowed]));
      expect(a).toMatchObject({ 'listener-unix-map': true, 'release-shutoff-reason': true, 'listener-scanout-dmabuf2': false, udmabuf: true });
      const both = ['org.qemu.Display1.Listener.Unix.Map', 'org.qemu.Display1.Listener.Unix.ScanoutDMABUF2'];
      expect(listenerInterfaceFor(v, both)).toEqual({ interfaces: ['org.qemu.Display1.Listener', 'org.qemu.Display1.Listener.Unix.Map'], why: 'QEMU 10.0.2: Unix.ScanoutDMABUF2 needs QEMU ≥ 10.1' });
      // A listener that does not list Map gets no Map, whatever QEMU can do.
      expect(listenerInterfaceFor(v, []).interfaces).toEqual(['org.qemu.Display1.Listener']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('nothing installed: unknown, not allowed', () => {
    const root = rootWith(null, null, null);
    try {
      const v = readHostVersions(new SysPaths(root));
      expect([v.qemu, v.libvirt]).toEqual([null, null]);
      const dbus = allowedFeatures(v).find((f) => f.id === 'qemu-dbus-display')!;
      expect(dbus).toMatchObject({ allowed: null, why: 'needs QEMU ≥ 7.0; QEMU not found on this host' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('probe on a simulated host reports the versions its tree shows and what they allow', () => {
    const j = JSON.parse(runCli(['probe', '--json', '--host', 'sim:gvt-skylake-no-udmabuf']).stdout);
    expect(j.versions.qemu.version).toBe('10.0.2');
    expect(j.versions.libvirt).toMatchObject({ version: '11.3.0', daemon: 'virtqemud' });
    expect(j.versions.kernel.version).toBe('6.12.95+bpo-amd64');
    expect(j.features.find((f: { id: string }) => f.id === 'listener-unix-map')).toMatchObject({ allowed: true, why: 'QEMU 10.0.2' });
    const text = runCli(['probe', '--host', 'sim:gvt-skylake']).stdout;
    expect(text).toContain('QEMU 7.2.0, libvirt 9.0.0 (virtqemud), kernel 6.1.0-sim-amd64');
    expect(text).toMatch(/^listener-unix-map\s+no\s+needs QEMU ≥ 9\.2; this host has QEMU 7\.2\.0$/m);
  });
});

test('plan says which listener interfaces a qemu-dbus guest will get on this host\'s QEMU', () => {
  const kiosk = join(__dirname, '..', '..', 'examples', 'gvt-kiosk-hdmi.xml');
  const old = runCli(['plan', kiosk, '--host', 'sim:gvt-skylake']);
  expect(old.status).toBe(0);
  expect(old.stdout).toContain('qemu-dbus listener: org.qemu.Display1.Listener (QEMU 7.2.0: Unix.Map needs QEMU ≥ 9.2, Unix.ScanoutDMABUF2 needs QEMU ≥ 10.1)\n');
  const current = JSON.parse(runCli(['plan', kiosk, '--json', '--host', 'sim:gvt-skylake-no-udmabuf']).stdout);
  expect(current.listener).toEqual({ interfaces: ['org.qemu.Display1.Listener', 'org.qemu.Display1.Listener.Unix.Map'], why: 'QEMU 10.0.2: Unix.ScanoutDMABUF2 needs QEMU ≥ 10.1' });
  // gvt-fb planes have no listener at all.
  const flip = JSON.parse(runCli(['plan', kiosk, '--json', '--host', 'sim:gvt-skylake-directflip']).stdout);
  expect(flip.listener).toBeNull();
});
