import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../../src/kernel/host';
import { listMdevs, writeSysfs } from '../../src/sys/mdevs';
import { SysPaths } from '../../src/sys/paths';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'directflip-sys-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('the fake tree reads back like a real host: mdev links, types, IOMMU groups, connector status', () => {
  const host = openHost('sim:gvt-skylake', { root });
  expect(listMdevs(host.sys)).toEqual([
    { uuid: '4b20e6f8-8a2c-4a7c-9a51-0c3b1f2d6e01', parent: '0000:00:02.0', type: 'i915-GVTg_V5_4', iommuGroup: 11 },
    { uuid: 'c2177883-f1bb-47f0-914d-32a22e3a8804', parent: '0000:00:02.0', type: 'i915-GVTg_V5_4', iommuGroup: 10 },
  ]);
  expect(readFileSync(host.sys.drmConnectorStatus('card0', 'HDMI-A-1'), 'utf8')).toBe('connected\n');
  host.sim!.card.hotplug('HDMI-A-1', false);
  expect(readFileSync(host.sys.drmConnectorStatus('card0', 'HDMI-A-1'), 'utf8')).toBe('disconnected\n');
  expect(existsSync(join(root, 'dev/vfio/10'))).toBe(true);
  host.close();
  expect(existsSync(root)).toBe(true); // a root the caller gave is the caller's to remove
});

test('an mdev a domain names is created in sysfs on first reference (mdevctl start)', () => {
  const host = openHost('sim:vkms', { root });
  const uuid = '11111111-2222-4333-8444-555555555555';
  expect(host.ensureMdev(uuid)).toBe(true);
  expect(listMdevs(host.sys).map((m) => m.uuid)).toContain(uuid);
  expect(existsSync(host.sys.devVfioGroup(host.sim!.vfio.mdev(uuid).iommuGroup))).toBe(true);
});

test('paths never leave the root, and configuration values are checked again', () => {
  const sys = new SysPaths(root);
  expect(() => sys.at('..', 'etc')).toThrow(/escapes/);
  expect(() => sys.mdevDevice('../../etc')).toThrow(/UUID/);
  expect(() => sys.mdevDevice('C2177883-F1BB-47F0-914D-32A22E3A8804')).toThrow(/UUID/);
  expect(() => sys.devDri('/dev/dri/../sda')).toThrow(/dev\/dri/);
  expect(() => sys.devDri('/dev/sda')).toThrow(/dev\/dri/);
  expect(sys.devDri('/dev/dri/card0')).toBe(join(root, 'dev/dri/card0'));
  expect(() => sys.drmConnectorStatus('card0', '../x')).toThrow(/safe/);
  expect(sys.runDir()).toBe(join(root, 'run/directflip'));
});

test('a sysfs write never creates a file', () => {
  const target = join(root, 'sys/no-such-attribute');
  expect(() => writeSysfs(target, '1')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  expect(existsSync(target)).toBe(false);
});

test('--host refuses what it does not know, and names the profiles it does', () => {
  expect(() => openHost('sim:nope')).toThrow(/known profiles are gvt-skylake, (.*, )?gvt-skylake-directflip, (.*, )?vkms/);
  expect(() => openHost('real')).toThrow(/native .* or sim:PROFILE/);
  expect(() => openHost('native', { root })).toThrow(/no DRM device under \/dev\/dri/);
});
