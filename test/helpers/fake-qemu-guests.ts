import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../../src/daemon/client';
import { runHookAsLibvirt, startBus, startDaemon } from './bus';
import type { DaemonProc } from './bus';
import { REPO } from './fixtures';

export interface Guest {
  name: string;
  uuid: string;
  /** Where its picture sits on the shared monitor. */
  x: number;
}

/** Manager.Streams' row: domain, plane, source, state, detail, received, flipped, dropped, bytes. */
export type StreamRow = [string, string, string, string, string, number, number, number, bigint];

/**
 * Guests read from QEMU's D-Bus display in a real daemon process on sim:vkms, each guest's QEMU
 * played by test/sources/fake-qemu.js on its own private bus (as libvirt gives each VM one); all
 * share Virtual-1. Registers the jest hooks that start and stop the buses, QEMUs and daemon.
 */
export function fakeQemuGuests<G extends Guest>(guests: G[], qemu: { script: string; args?: string[] } = { script: 'fake-qemu.js' }) {
  const base = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');
  const rig = {
    ours: null as unknown as ReturnType<typeof startBus>,
    vms: [] as ReturnType<typeof startBus>[],
    qemus: [] as ChildProcess[],
    root: '',
    daemon: null as unknown as DaemonProc,
    xmlOf: (g: G) =>
      base.replace('<name>df-tcg-vga</name>', `<name>${g.name}</name>`).replace(/<uuid>[^<]+<\/uuid>/, `<uuid>${g.uuid}</uuid>`).replace('x="0" y="0"', `x="${g.x}" y="0"`),
    /** The environment the hook runs with, pointed at this daemon. */
    env: () => ({ DIRECTFLIP_BUS_ADDRESS: rig.ours.address, DIRECTFLIP_RUN_DIR: join(rig.root, 'run/directflip'), DIRECTFLIP_TIMEOUT_MS: '20000' }),
    streams: async () => (await callManager(rig.ours.address, 'Streams', '', [], 20_000))[0] as StreamRow[],
    /** Polls Streams every 50 ms until `ok` (at most `tries` times); the last rows either way. */
    async until(ok: (rows: StreamRow[]) => boolean, tries: number): Promise<StreamRow[]> {
      let rows: StreamRow[] = [];
      for (let i = 0; i < tries; i++) {
        rows = await rig.streams();
        if (ok(rows)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return rows;
    },
    /** prepare then started through the hook, the live XML carrying the guest's bus: each run's result. */
    start: () =>
      guests.flatMap((g, i) => {
        const xml = rig.xmlOf(g);
        const live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${rig.vms[i].address}'/>`);
        return [['prepare', xml], ['started', live]].map(([op, body]) => ({ guest: g.name, op, ...runHookAsLibvirt([g.name, op, 'begin', '-'], body, rig.env()) }));
      }),
    /** stopped then released through the hook: each run's exit status. */
    stop: () => guests.flatMap((g) => ['stopped', 'release'].map((op) => runHookAsLibvirt([g.name, op, 'end', '-'], rig.xmlOf(g), rig.env()).status)),
  };
  beforeAll(async () => {
    rig.ours = startBus();
    rig.vms = guests.map(() => startBus());
    rig.root = mkdtempSync(join(tmpdir(), 'directflip-root-'));
    rig.daemon = await startDaemon(rig.ours.address, 'sim:vkms', rig.root);
    rig.qemus = await Promise.all(rig.vms.map((v) => fakeQemu(v.address, qemu)));
  });
  afterAll(async () => {
    for (const q of rig.qemus) q.kill('SIGKILL');
    await rig.daemon.stop('SIGKILL');
    rig.ours.stop();
    for (const v of rig.vms) v.stop();
    rmSync(rig.root, { recursive: true, force: true });
  });
  return rig;
}

/** `qemu`: which player of test/sources, and its arguments after the bus address. */
function fakeQemu(address: string, qemu: { script: string; args?: string[] }): Promise<ChildProcess> {
  const p = spawn(process.execPath, [join(REPO, 'test', 'sources', qemu.script), address, ...(qemu.args ?? [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res(p));
    p.once('exit', (code) => rej(new Error(`fake-qemu exited ${code}`)));
  });
}
