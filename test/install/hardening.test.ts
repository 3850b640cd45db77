import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { protectHome } from '../../src/install/plan';
import { runCli } from '../helpers/cli';

let prefix: string;
let unit: string;
beforeAll(() => {
  prefix = mkdtempSync(join(tmpdir(), 'directflip-prefix-'));
  expect(runCli(['install', '--prefix', prefix]).status).toBe(0);
  unit = join(prefix, 'etc/systemd/system/directflipd.service');
});
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

test('systemd-analyze security rates the installed unit at an exposure of 2.5 or less', () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze cannot run (${r.error.message}): install the Debian package systemd (scripts/setup.sh does)`);
  const m = /Overall exposure level for directflipd\.service: (\d+\.\d)/.exec(r.stdout);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeLessThanOrEqual(2.5);
});

test('the sandbox keeps what the daemon needs, and names no page that does not exist', () => {
  const text = readFileSync(unit, 'utf8');
  const settings = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((x) => x[1]);
  expect(text).not.toMatch(/@[A-Z_]+@/); // every placeholder filled
  // The page it names is installed beside it, and man finds it there.
  expect(settings('Documentation')).toEqual(['man:directflip(1)']);
  expect(spawnSync('man', ['-w', '-M', join(prefix, 'usr/share/man'), '1', 'directflip'], { encoding: 'utf8' }).stdout.trim()).toBe(join(prefix, 'usr/share/man/man1/directflip.1'));
  expect(text).not.toMatch(/^MemoryDenyWriteExecute=/m); // node's JIT
  expect(text).not.toMatch(/^PrivateDevices=yes/m); // would hide /dev/dri and the VFIO groups
  expect(text).not.toMatch(/^(User|DynamicUser|PrivateUsers|PrivateNetwork)=/m); // root on the host's buses
  expect(settings('CapabilityBoundingSet')).toEqual(['CAP_SETUID CAP_SETGID CAP_KILL CAP_DAC_READ_SEARCH CAP_SYS_ADMIN']);
  expect(settings('DeviceAllow')).toEqual(expect.arrayContaining(['char-drm rw', 'char-vfio rw', '/dev/vfio/vfio rw']));
  expect(settings('RestrictAddressFamilies')).toEqual(['AF_UNIX AF_NETLINK']);
  expect(settings('RuntimeDirectory')).toEqual(['directflip']);
  expect(settings('ReadWritePaths')).toEqual(['/sys/devices']);
  expect(settings('SystemCallErrorNumber')).toEqual(['EPERM']);
  expect(settings('ExecStart')[0]).toBe(`${process.execPath} ${join(__dirname, '..', '..')}/bin/directflip daemon`);
});

test('home directories are hidden unless node or the package lives in one', () => {
  expect(protectHome('/usr/bin/node', '/opt/directflip')).toBe('yes');
  expect(protectHome('/usr/bin/node', '/root/directflip')).toBe('read-only');
  expect(protectHome('/home/ann/.nvm/versions/node/v20/bin/node', '/opt/directflip')).toBe('read-only');
  expect(protectHome('/usr/bin/node', '/homestead/directflip')).toBe('yes');
});
