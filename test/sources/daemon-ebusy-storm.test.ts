import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { callManager, simScreenshotOf } from '../../src/daemon/client';
import { connectBus } from '../../src/daemon/connect';
import { BUS_NAME, OBJECT_PATH, SIMULATOR_IFACE } from '../../src/daemon/names';
import { decodePng } from '../../src/util/png';
import { runHookAsLibvirt, startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { REPO } from '../helpers/fixtures';

/**
 * Two guests streaming onto one CRTC in a real daemon process while the simulated kernel answers
 * a storm of nonblocking commits with EBUSY: every refused commit is retried with the newest
 * frames, nothing stalls, the replaced frames are counted, and the last frame each guest sent is
 * the one on the monitor.
 */
jest.setTimeout(90_000);

const base = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');
const guests = [
  { name: 'df-storm-a', uuid: '7b1f4d3e-9c2e-4f68-8d4b-3a6e8f0c2da1', x: 0, last: 201 },
  { name: 'df-storm-b', uuid: '7b1f4d3e-9c2e-4f68-8d4b-3a6e8f0c2db2', x: 512, last: 123 },
];
const xmlOf = (g: (typeof guests)[number]) =>
  base.replace('<name>df-tcg-vga</name>', `<name>${g.name}</name>`).replace(/<uuid>[^<]+<\/uuid>/, `<uuid>${g.uuid}</uuid>`).replace('x="0" y="0"', `x="${g.x}" y="0"`);

let ours: ReturnType<typeof startBus>;
let vms: ReturnType<typeof startBus>[] = [];
let qemus: ChildProcess[] = [];
let root: string;
let daemon: DaemonProc;

type StreamRow = [string, string, string, string, string, number, number, number, bigint];
const streams = async () => (await callManager(ours.address, 'Streams', '', [], 20_000))[0] as StreamRow[];
const rowOf = (rows: StreamRow[], name: string) => rows.find((r) => r[0] === name)!;
async function until(ok: (rows: StreamRow[]) => boolean): Promise<StreamRow[]> {
  let rows: StreamRow[] = [];
  for (let i = 0; i < 300; i++) {
    rows = await streams();
    if (ok(rows)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
}

async function failNext(ioctl: string, errno: string, count: number): Promise<void> {
  const bus = await connectBus(ours.address, 20_000);
  try {
    await bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member: 'FailNext', signature: 'ssu', body: [ioctl, errno, count] }));
  } finally {
    bus.disconnect();
  }
}

function fakeQemu(address: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [join(__dirname, 'fake-qemu.js'), address], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res(p));
    p.once('exit', (code) => rej(new Error(`fake-qemu exited ${code}`)));
  });
}

beforeAll(async () => {
  ours = startBus();
  vms = guests.map(() => startBus());
  root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
  daemon = await startDaemon(ours.address, 'sim:vkms', root);
  qemus = await Promise.all(vms.map((v) => fakeQemu(v.address)));
});
afterAll(async () => {
  for (const q of qemus) q.kill('SIGKILL');
  await daemon.stop('SIGKILL');
  ours.stop();
  for (const v of vms) v.stop();
  rmSync(root, { recursive: true, force: true });
});

test('an EBUSY storm on a shared CRTC loses no frame that should be shown, and counts the replaced ones', async () => {
  const env = { DIRECTFLIP_BUS_ADDRESS: ours.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip'), DIRECTFLIP_TIMEOUT_MS: '20000' };
  for (const [i, g] of guests.entries()) {
    const xml = xmlOf(g);
    const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vms[i].address}'/>`);
    for (const [op, sub, body] of [['prepare', 'begin', xml], ['started', 'begin', live]]) expect(runHookAsLibvirt([g.name, op, sub, '-'], body, env).status).toBe(0);
  }
  const flipped = (rows: StreamRow[], n: number) => guests.every((g) => rowOf(rows, g.name)?.[3] === 'streaming' && rowOf(rows, g.name)[6] >= n);
  const before = await until((rows) => flipped(rows, 1));
  expect(flipped(before, 1)).toBe(true);

  await failNext('DRM_IOCTL_MODE_ATOMIC', 'EBUSY', 200);
  const past = Math.max(...guests.map((g) => rowOf(before, g.name)[6]));
  const during = await until((rows) => flipped(rows, past + 20));
  expect(flipped(during, past + 20)).toBe(true);
  for (const g of guests) expect(rowOf(during, g.name)[4]).toMatch(/; \d+ commits refused busy and retried/);

  // Each guest's last frame: once nothing more comes, every frame was shown or replaced, and
  // the monitor shows the last ones.
  for (const [i, g] of guests.entries()) qemus[i].stdin!.write(`freeze ${g.last}\n`);
  let settled: StreamRow[] = [];
  let previous = '';
  for (let i = 0; i < 100; i++) {
    settled = await streams();
    const now = JSON.stringify(settled.map((r) => r.slice(5, 8)));
    if (now === previous && guests.every((g) => rowOf(settled, g.name)[5] === rowOf(settled, g.name)[6] + rowOf(settled, g.name)[7])) break;
    previous = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const g of guests) {
    const [, , , , , received, shown, replaced] = rowOf(settled, g.name);
    expect([g.name, received]).toEqual([g.name, shown + replaced]);
  }
  const pic = decodePng(await simScreenshotOf(ours.address, 'Virtual-1', 20_000));
  const at = (x: number, y: number) => [...pic.rgba.subarray((y * pic.width + x) * 4, (y * pic.width + x) * 4 + 3)];
  for (const g of guests) expect([g.name, at(g.x + 4, 4)]).toEqual([g.name, [g.last, g.last, g.last]]);
  expect(daemon.proc.exitCode).toBeNull();
  for (const g of guests) for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(runHookAsLibvirt([g.name, op, sub, '-'], xmlOf(g), env).status).toBe(0);
});
