import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';

/** A profile's userspace section: checked like the rest, and written under the root as a real host shows it. */
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'directflip-userspace-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function profileWith(userspace: unknown): string {
  const f = join(dir, 'p.json');
  writeFileSync(f, JSON.stringify({ name: 'p', extends: 'gvt-skylake', description: 'd', userspace }));
  return f;
}

test.each([
  [{ qemu: 'seven' }, /userspace\.qemu: expected null or a version such as "7\.2\.0"/],
  [{ libvirtDaemon: 'systemd' }, /userspace\.libvirtDaemon: expected one of "virtqemud", "libvirtd"/],
  [{ processes: [{ pid: 7, comm: 'a' }, { pid: 7, comm: 'b' }] }, /userspace\.processes\[1\]\.pid: expected a pid no other process has/],
  [{ processes: [{ pid: 7, comm: 'a-name-longer-than-15' }] }, /userspace\.processes\[0\]\.comm: expected a comm of 1 to 15 printable characters/],
  [{ processes: [{ pid: 7, comm: 'x', cards: ['/etc/passwd'] }] }, /userspace\.processes\[0\]\.cards\[0\]: expected a card path/],
  [{ modules: ['../evil'] }, /userspace\.modules\[0\]: expected a module name/],
  [{ colour: 'red' }, /userspace: expected only the keys .* \(1 other key found\)/],
])('a bad userspace %j is refused with its path', (u, want) => {
  expect(() => loadProfile(profileWith(u))).toThrow(want);
});

test('extends merges userspace key by key', () => {
  const p = loadProfile('gvt-skylake-compositor');
  expect(p.userspace?.processes?.map((x) => x.comm)).toEqual(['gdm3', 'gnome-shell']);
  const q = loadProfile(profileWith({ qemu: '10.0.2' }));
  expect(q.userspace).toEqual({ qemu: '10.0.2' });
});

test('the sim root shows the profile\'s userspace as /proc, the binaries and modules.dep would', () => {
  const h = openHost('sim:gvt-skylake-compositor', { root: dir });
  try {
    expect(readFileSync(join(dir, 'proc/1234/comm'), 'utf8')).toBe('gnome-shell\n');
    expect(readlinkSync(join(dir, 'proc/1234/fd/10'))).toBe('/dev/dri/card0');
    expect(readFileSync(join(dir, 'proc/sys/kernel/osrelease'), 'utf8')).toBe('6.1.0-sim-amd64\n');
    expect(readFileSync(join(dir, 'proc/cmdline'), 'utf8')).toMatch(/ i915\.enable_gvt=1 /);
    expect(readFileSync(join(dir, 'sys/module/i915/parameters/enable_gvt'), 'utf8')).toBe('Y\n');
    expect(readlinkSync(join(dir, 'sys/devices/pci0000:00/0000:00:02.0/driver'))).toMatch(/bus\/pci\/drivers\/i915$/);
    // The kernel agrees with /proc: gnome-shell holds master, so ours cannot take it.
    const dev = h.backend.openKms('/dev/dri/card0');
    try {
      expect(() => dev.setMaster()).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    } finally {
      dev.close();
    }
  } finally {
    h.close();
  }
  // /proc belongs to the machine: a second boot keeps what a test changed there.
  writeFileSync(join(dir, 'proc/1234/comm'), 'renamed\n');
  openHost('sim:gvt-skylake-compositor', { root: dir }).close();
  expect(readFileSync(join(dir, 'proc/1234/comm'), 'utf8')).toBe('renamed\n');
});

test('the daemon names the compositor of a simulated host from that host\'s /proc, as doctor does', async () => {
  const host = openHost('sim:gvt-skylake-compositor', { root: dir });
  const run = mkdtempSync(join(tmpdir(), 'directflip-run-'));
  const e = new Engine(host, new Journal(run), () => undefined);
  try {
    const kiosk = parseDomainXml(readFileSync(join(__dirname, '..', '..', 'examples', 'gvt-kiosk-hdmi.xml')));
    await expect(e.prepare(kiosk)).rejects.toMatchObject({ kind: 'Refused', message: expect.stringContaining('DRM master of /dev/dri/card0 is held by gnome-shell (pid 1234) (EBUSY)') });
  } finally {
    await e.shutdown();
    host.close();
    rmSync(run, { recursive: true, force: true });
  }
});
