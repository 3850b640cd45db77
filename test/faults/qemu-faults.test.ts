import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBus } from '../helpers/bus';
import { FaultRig, faultCase } from '../helpers/fault-rig';
import { REPO } from '../helpers/fixtures';

// Faults around a frame stream from a real QEMU (Debian's qemu-system-x86, TCG, firmware only)
// on a private bus standing in for libvirt's per-VM bus, shown by a daemon on sim:vkms.
jest.setTimeout(90_000);

const QEMU = 'qemu-system-x86_64';
const xml = readFileSync(join(REPO, 'examples', 'tcg-vga-dbus.xml'), 'utf8');
const NAME = 'df-tcg-vga';
type StreamRow = [string, string, string, string, string, number, number, number, bigint];

let rig: FaultRig;
let vmBus: ReturnType<typeof startBus>;
let qemu: ChildProcess | undefined;
let live: string;

beforeAll(() => {
  const v = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`${QEMU} is not installed (${v.error?.message ?? v.stderr}): scripts/setup.sh installs Debian's qemu-system-x86`);
});
beforeEach(async () => {
  vmBus = startBus();
  rig = await FaultRig.start('sim:vkms');
  live = xml.replace("<graphics type='dbus'/>", `<graphics type='dbus' address='${vmBus.address}'/>`);
  qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'std', '-display', `dbus,addr=${vmBus.address}`, '-monitor', 'none', '-serial', 'none'], { stdio: 'ignore' });
});
afterEach(async () => {
  qemu?.kill('SIGKILL');
  await rig?.stop();
  vmBus.stop();
});

const streams = async () => (await rig.call('Streams', '', []))[0] as StreamRow[];

/** The stream once it has flipped more than `after` frames (or has failed); null if neither comes. */
const flipping = (after = 0) => rig.until(async () => {
  const s = (await streams())[0];
  return s && ((s[3] === 'streaming' && s[6] > after) || s[3] === 'failed') ? s : null;
}, 150);

function startGuest(): void {
  for (const [op, sub, body] of [['prepare', 'begin', xml], ['start', 'begin', live], ['started', 'begin', live]]) {
    const r = rig.hook(NAME, op, sub, body);
    expect([op, r.status, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
  }
}

test('SIGKILL during a frame stream: restarted on the same root, the daemon attaches to the running guest again and frames flow', () =>
  faultCase('the daemon SIGKILLed during a frame stream', async () => {
    const before = await rig.screenshot('Virtual-1');
    const card = await rig.dump();
    startGuest();
    const first = await flipping();
    expect(first?.[3]).toBe('streaming');
    const seen = await flipping(first![6] + 2); // frames are flowing right now
    expect(seen?.[3]).toBe('streaming');
    await rig.killDaemon();
    await rig.startDaemon();
    const again = await flipping();
    expect(again?.slice(0, 4)).toEqual([NAME, 'directflip/output[1]/plane[1]', 'qemu-dbus', 'streaming']);
    expect(again![6]).toBeGreaterThan(0);
    expect(qemu!.exitCode).toBeNull(); // the guest never noticed
    expect((await rig.screenshot('Virtual-1')).equals(before)).toBe(false);
    rig.stopGuest(NAME, live);
    expect(await streams()).toEqual([]);
    expect((await rig.screenshot('Virtual-1')).equals(before)).toBe(true);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));

test("QEMU's link closed mid-stream (QEMU SIGKILLed while it sends frames): that stream fails alone, the daemon stays, release restores", () =>
  faultCase("QEMU's link closed while frames stream (QEMU SIGKILLed)", async () => {
    const before = await rig.screenshot('Virtual-1');
    const card = await rig.dump();
    startGuest();
    const first = await flipping();
    expect(first?.[3]).toBe('streaming');
    await flipping(first![6] + 2);
    const gone = new Promise((r) => qemu!.once('exit', r));
    qemu!.kill('SIGKILL');
    await gone;
    // The stream says what happened; the domain itself is still assigned, and the daemon answers.
    const after = await rig.until(async () => {
      const s = (await streams())[0];
      return s && s[3] !== 'streaming' ? s : null;
    }, 100);
    expect(after?.slice(0, 4)).toEqual([NAME, 'directflip/output[1]/plane[1]', 'qemu-dbus', expect.stringMatching(/^(failed|connecting|stopped)$/)]);
    expect(await rig.states()).toEqual([[NAME, 'active']]);
    expect(rig.alive()).toBe(true);
    rig.stopGuest(NAME, live);
    expect(await rig.states()).toEqual([]);
    expect((await rig.screenshot('Virtual-1')).equals(before)).toBe(true);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));
