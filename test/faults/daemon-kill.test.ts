import { readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { decodePng } from '../../src/util/png';
import { FaultRig, domainXml, faultCase } from '../helpers/fault-rig';

// directflipd SIGKILLed (an OOM kill, a crash) while it works, then started again on the same
// --root, whose simulated kernel outlived it and closed its files as the kernel does. Every
// domain must end re-adopted (its picture back on screen) or restored exactly, never lost.
jest.setTimeout(60_000);
let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start()));
afterEach(() => rig?.stop());

const MONITORS = ['HDMI-A-1', 'eDP-1', 'DP-1'];
// vm0 and vm1 share HDMI-A-1, vm2 joins eDP-1's console, vm3 lights DP-1 (dark at boot).
const CONNECTORS = ['HDMI-A-1', 'HDMI-A-1', 'eDP-1', 'DP-1'];
const XMLS = CONNECTORS.map((c, i) => domainXml(i, c));
const shots = () => Promise.all(MONITORS.map((m) => rig.screenshot(m)));

/** Whether the quarter of the monitor where domain i's plane sits looks as it did in `before`. */
function quarterAsBefore(i: number, now: Buffer[], before: Buffer[]): boolean {
  const m = MONITORS.indexOf(CONNECTORS[i]);
  const [a, b] = [decodePng(now[m]), decodePng(before[m])];
  if (a.width !== b.width || a.height !== b.height) return false;
  const [x0, y0] = [(i % 2) * 960, (Math.floor(i / 2) % 2) * 540];
  for (let y = y0; y < y0 + 540; y++) {
    const o = (y * a.width + x0) * 4;
    if (!a.rgba.subarray(o, o + 960 * 4).equals(b.rgba.subarray(o, o + 960 * 4))) return false;
  }
  return true;
}

/** SIGKILLs the daemon, synchronously, at the first journal change `pick` accepts; resolves with that record's state. */
function killAt(pick: (rec: { name: string; state: string } | null, file: string) => boolean): Promise<string> {
  const dir = join(rig.runDir, 'domains');
  const pid = rig.pid;
  return new Promise((res) => {
    const w = watch(dir, (_ev, f) => {
      if (!f || !/^[0-9a-f-]{36}\.json$/.test(f)) return;
      let rec: { name: string; state: string } | null = null;
      try {
        rec = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      } catch {
        rec = null; // renamed away (removed) or mid-rename: `pick` decides
      }
      if (!pick(rec, f)) return;
      process.kill(pid, 'SIGKILL');
      w.close();
      res(rec?.state ?? 'removed');
    });
  });
}

/** After the restart: each domain is either shown again or its quarter is as the host had it. */
async function expectEachReadoptedOrRestored(before: Buffer[]): Promise<string[]> {
  const states = new Map(await rig.states());
  const now = await shots();
  const active: string[] = [];
  XMLS.forEach((_x, i) => {
    const s = states.get(`vm${i}`);
    expect([`vm${i}`, s ?? 'gone']).toEqual([`vm${i}`, expect.stringMatching(/^(active|gone)$/)]);
    expect([`vm${i}`, quarterAsBefore(i, now, before)]).toEqual([`vm${i}`, s !== 'active']);
    if (s === 'active') active.push(`vm${i}`);
  });
  if (!states.has('vm3')) expect(now[2].equals(before[2])).toBe(true); // DP-1 dark again, exactly
  return active;
}

async function releaseAllAndCompare(before: Buffer[]): Promise<void> {
  // What libvirt runs last for each guest; for one already restored it has nothing to do.
  XMLS.forEach((x, i) => rig.release(`vm${i}`, x));
  expect(await rig.states()).toEqual([]);
  expect((await shots()).map((s, i) => s.equals(before[i]))).toEqual([true, true, true]);
}

test('SIGKILL during a commit: four activations in flight, the daemon killed the moment the first is journalled', () =>
  faultCase('the daemon SIGKILLed during a commit', async () => {
    const before = await shots();
    const card = await rig.dump();
    const c = await rig.client();
    await Promise.all(XMLS.map((x, i) => c.call('Prepare', 'ss', [`vm${i}`, x])));
    const killed = killAt((rec) => rec?.state === 'activating' || rec?.state === 'active');
    const calls = Promise.allSettled(XMLS.map((x, i) => c.call('Activate', 'ss', [`vm${i}`, x])));
    expect(await killed).toMatch(/^(activating|active)$/);
    await calls;
    c.close();
    await rig.daemon!.stop('SIGKILL');
    await rig.startDaemon();
    await expectEachReadoptedOrRestored(before);
    await releaseAllAndCompare(before);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));

test('SIGKILL during a release: the restarted daemon re-adopts or has restored it; the other guests are untouched', () =>
  faultCase('the daemon SIGKILLed during a release', async () => {
    const before = await shots();
    const card = await rig.dump();
    for (const [i, x] of XMLS.entries()) await rig.up(`vm${i}`, x);
    const shown = await shots();
    const c = await rig.client();
    // Killed at the release's first trace on disk (its record goes once the restore is committed),
    // or, failing that, when the call has reached the daemon.
    const killed = killAt((rec, f) => f.startsWith('00000000-0000-4000-8000-000000000003') || rec?.name === 'vm3');
    const call = c.call('Release', 'sss', ['vm3', XMLS[3], 'destroyed']).catch(() => null);
    const state = await Promise.race([killed, new Promise<string>((r) => setTimeout(() => r('not yet'), 2000))]);
    if (state === 'not yet') process.kill(rig.pid, 'SIGKILL');
    await call;
    c.close();
    await rig.daemon!.stop('SIGKILL');
    await rig.startDaemon();
    const active = await expectEachReadoptedOrRestored(before);
    expect(active.slice(0, 3)).toEqual(['vm0', 'vm1', 'vm2']);
    // The guests nobody released are exactly where they were.
    const now = await shots();
    expect(now[0].equals(shown[0])).toBe(true);
    expect(now[1].equals(shown[1])).toBe(true);
    await releaseAllAndCompare(before);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: await rig.leaks() };
  }));
