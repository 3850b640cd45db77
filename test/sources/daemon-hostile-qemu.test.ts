import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../../src/daemon/client';
import { runHookAsLibvirt, startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { REPO } from '../helpers/fixtures';

/**
 * Two guests on one monitor, each read from its own QEMU's D-Bus display, in a real daemon
 * process. One QEMU turns hostile and sends a malformed Listener call: that guest's stream ends
 * as `failed` with the reason, the daemon stays up, and the other guest keeps flipping.
 */
jest.setTimeout(60_000);

const base = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');
const guests = [
  { name: 'df-guest-a', uuid: '6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1ca1', x: 0 },
  { name: 'df-guest-b', uuid: '6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1cb2', x: 512 },
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
const rowOf = (rows: StreamRow[], name: string) => rows.find((r) => r[0] === name);
async function until(ok: (rows: StreamRow[]) => boolean): Promise<StreamRow[]> {
  let rows: StreamRow[] = [];
  for (let i = 0; i < 200; i++) {
    rows = await streams();
    if (ok(rows)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
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

test('a malformed message from one QEMU fails that stream alone; the daemon stays up and the other guest keeps flipping', async () => {
  const env = { DIRECTFLIP_BUS_ADDRESS: ours.address, DIRECTFLIP_RUN_DIR: join(root, 'run/directflip'), DIRECTFLIP_TIMEOUT_MS: '20000' };
  for (const [i, g] of guests.entries()) {
    const xml = xmlOf(g);
    const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vms[i].address}'/>`);
    for (const [op, sub, body] of [['prepare', 'begin', xml], ['started', 'begin', live]]) {
      const r = runHookAsLibvirt([g.name, op, sub, '-'], body, env);
      expect([g.name, op, r.status, r.stderr]).toEqual([g.name, op, 0, '']);
    }
  }
  const flipping = (rows: StreamRow[]) => guests.every((g) => rowOf(rows, g.name)?.[3] === 'streaming' && rowOf(rows, g.name)![6] > 0);
  expect(flipping(await until(flipping))).toBe(true);

  qemus[0].stdin!.write('hostile\n');
  const failed = await until((rows) => rowOf(rows, 'df-guest-a')?.[3] === 'failed');
  expect(rowOf(failed, 'df-guest-a')!.slice(3, 5)).toEqual(['failed', expect.stringMatching(/malformed call: UpdateDMABUF came with the signature "us", not "iiii"/)]);
  const before = rowOf(failed, 'df-guest-b')![6];
  const later = await until((rows) => rowOf(rows, 'df-guest-b')![6] >= before + 10);
  expect(rowOf(later, 'df-guest-b')!.slice(3, 4)).toEqual(['streaming']);
  expect(rowOf(later, 'df-guest-b')![6]).toBeGreaterThanOrEqual(before + 10);
  expect(daemon.proc.exitCode).toBeNull();
  expect(daemon.log()).toMatch(/df-guest-a.*malformed call/);
  for (const g of guests) for (const [op, sub] of [['stopped', 'end'], ['release', 'end']]) expect(runHookAsLibvirt([g.name, op, sub, '-'], xmlOf(g), env).status).toBe(0);
});
