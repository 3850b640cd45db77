import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager, simScreenshotOf } from '../../src/daemon/client';
import { decodePng, distinctColours } from '../../src/util/png';
import { runHookAsLibvirt, startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { REPO } from '../helpers/fixtures';

/**
 * The daemon end to end with a real QEMU (Debian's qemu-system-x86, TCG, firmware only) on a
 * private bus standing in for libvirt's per-VM bus: the hook's `started` carries the display
 * address as libvirt's live XML does; the daemon attaches, streams, and release restores.
 */
jest.setTimeout(90_000);

const QEMU = 'qemu-system-x86_64';
const xml = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');

let ours: ReturnType<typeof startBus>;
let vmBus: ReturnType<typeof startBus>;
let root: string;
let daemon: DaemonProc | undefined;
let qemu: ChildProcess | undefined;

beforeAll(() => {
  const v = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`${QEMU} is not installed (${v.error?.message ?? v.stderr}): scripts/setup.sh installs Debian's qemu-system-x86`);
});

beforeEach(async () => {
  ours = startBus();
  vmBus = startBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
  daemon = await startDaemon(ours.address, 'sim:vkms', root);
});
afterEach(async () => {
  qemu?.kill('SIGKILL');
  await daemon?.stop('SIGKILL');
  ours.stop();
  vmBus.stop();
  rmSync(root, { recursive: true, force: true });
});

const hook = (op: string, sub: string, body: string) =>
  runHookAsLibvirt(['df-tcg-vga', op, sub, '-'], body, { DIRECTFLIP_BUS_ADDRESS: ours.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip'), DIRECTFLIP_TIMEOUT_MS: '5000' });
type StreamRow = [string, string, string, string, string, number, number, number, bigint];
const streams = async () => (await callManager(ours.address, 'Streams', '', [], 5000))[0] as StreamRow[];
const screenshot = (connector: string) => simScreenshotOf(ours.address, connector, 5000);

test("started attaches to QEMU's D-Bus display; frames stream onto the planned plane; release restores the monitor exactly", async () => {
  const before = await screenshot('Virtual-1');
  qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'std', '-display', `dbus,addr=${vmBus.address}`, '-monitor', 'none', '-serial', 'none'], { stdio: 'ignore' });
  const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vmBus.address}'/>`);
  for (const [op, sub, body] of [['prepare', 'begin', xml], ['start', 'begin', live], ['started', 'begin', live]]) {
    const r = hook(op, sub, body);
    expect([op, r.status, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
  }
  let rows: StreamRow[] = [];
  let png = before;
  for (let i = 0; i < 150; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await streams();
    if (rows[0]?.[3] === 'failed') break;
    png = await screenshot('Virtual-1');
    const pic = decodePng(png);
    // Firmware text on the overlay at the top left: more than one colour there.
    if (rows[0]?.[6] > 0 && distinctColours(pic, 0, 0, 200, 16) >= 2) break;
  }
  mkdirSync(join(REPO, 'out'), { recursive: true });
  writeFileSync(join(REPO, 'out', 'daemon-qemu-dbus.png'), png);
  expect(rows.map((r) => r.slice(0, 4))).toEqual([['df-tcg-vga', 'directflip/output[1]/plane[1]', 'qemu-dbus', 'streaming']]);
  expect(rows[0][4]).toMatch(/^console 0 as configured \(VGA\); showing \d+x\d+ pixels; \d+ bytes copied per frame$/);
  expect(rows[0][6]).toBeGreaterThan(0); // flipped
  expect(distinctColours(decodePng(png), 0, 0, 200, 16)).toBeGreaterThanOrEqual(2);
  const status = await new Promise<string>((res) => {
    const p = spawn(process.execPath, [join(REPO, 'bin', 'directflip'), 'status', '--bus', ours.address]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => res(out));
  });
  expect(status).toMatch(/df-tcg-vga\s+directflip\/output\[1\]\/plane\[1\]\s+qemu-dbus\s+streaming\s+\d+\s+[1-9]\d*\s+\d+\s+/);
  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(hook(op, sub, live).status).toBe(0);
  expect(await streams()).toEqual([]);
  expect((await screenshot('Virtual-1')).equals(before)).toBe(true);
});

test('a daemon restart while the guest runs attaches to its display again from the journal', async () => {
  qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'std', '-display', `dbus,addr=${vmBus.address}`, '-monitor', 'none', '-serial', 'none'], { stdio: 'ignore' });
  const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vmBus.address}'/>`);
  for (const [op, sub, body] of [['prepare', 'begin', xml], ['started', 'begin', live]]) expect(hook(op, sub, body).status).toBe(0);
  const flipped = async () => {
    for (let i = 0; i < 150; i++) {
      const rows = await streams();
      if (rows[0]?.[3] === 'streaming' && rows[0][6] > 0) return rows[0];
      if (rows[0]?.[3] === 'failed') return rows[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    return (await streams())[0];
  };
  expect((await flipped())?.slice(3, 4)).toEqual(['streaming']);
  await daemon!.stop('SIGTERM');
  daemon = await startDaemon(ours.address, 'sim:vkms', root);
  const again = await flipped();
  expect(again?.slice(0, 4)).toEqual(['df-tcg-vga', 'directflip/output[1]/plane[1]', 'qemu-dbus', 'streaming']);
  expect(again?.[6]).toBeGreaterThan(0);
  expect(qemu.exitCode).toBeNull(); // the guest never noticed
  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(hook(op, sub, live).status).toBe(0);
});

test('a display that cannot be attached is reported in status; the daemon stays up and release still restores', async () => {
  const before = await screenshot('Virtual-1');
  // The VM's bus runs, but no QEMU is on it.
  const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vmBus.address}'/>`);
  for (const [op, sub, body] of [['prepare', 'begin', xml], ['started', 'begin', live]]) expect(hook(op, sub, body).status).toBe(0);
  let rows: StreamRow[] = [];
  for (let i = 0; i < 100 && rows[0]?.[3] !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await streams();
  }
  expect(rows[0].slice(2, 4)).toEqual(['qemu-dbus', 'failed']);
  expect(rows[0][4]).toMatch(/^cannot attach to the D-Bus display at unix:path=.*: .*org\.qemu/);
  expect(daemon!.log()).toMatch(/cannot attach to the D-Bus display/);
  for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(hook(op, sub, live).status).toBe(0);
  expect((await screenshot('Virtual-1')).equals(before)).toBe(true);
});
