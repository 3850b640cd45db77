import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import { DEFAULT_HOST, FaultRig, domainXml, faultCase, procStats } from '../helpers/fault-rig';
import type { ProcStats } from '../helpers/fault-rig';

jest.setTimeout(120_000);

const CYCLES = 100;
const WARM_UP = 10;
/**
 * Generous on purpose: V8 grows its heap in steps of 10-30 MiB, keeps what it grew, and frees a
 * dropped 8 MiB stand-in only when its external memory asks for a collection, so 30-50 MiB of
 * growth is noise here. A 1080p buffer kept per cycle would be 720 MiB over the run. The leaks
 * that matter (fds, fbs, GEM handles) are counted exactly.
 */
const RSS_BOUND_KIB = 96 * 1024;
// Two guests share HDMI-A-1 (overlays of the running CRTC), one joins the console on eDP-1 and
// one lights DP-1, dark at boot (a modeset and back, every cycle). Three read the kernel's GVT-g
// fbs (GETFB2, GEM handles); the one on DP-1 goes through QEMU's D-Bus display, which has no QEMU
// here, so it shows a framebuffer of its own until it answers (a stand-in; its stream starts and stops).
const CONNECTORS = ['HDMI-A-1', 'HDMI-A-1', 'eDP-1', 'DP-1'];
const XMLS = CONNECTORS.map((c, i) => (i === 3 ? domainXml(i, c, { source: 'qemu-dbus', extra: "<graphics type='dbus'/>" }) : domainXml(i, c, { source: 'gvt-fb' })));

let rig: FaultRig;
beforeEach(async () => (rig = await FaultRig.start()));
afterEach(() => rig?.stop());

/**
 * The daemon's own counts come from /proc; the simulated kernel's fb and GEM counts are not on
 * its D-Bus surface, so the same 400 lifecycles also run on an Engine in this process, whose
 * SimHost counts them exactly.
 */
async function engineCycles(): Promise<{ fbs: number; gem: number; shownMidway: boolean }> {
  const host = openHost(DEFAULT_HOST);
  const run = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'directflip-cycles-'));
  const engine = new Engine(host, new Journal(run), () => undefined);
  const configs = XMLS.map((x) => parseDomainXml(x));
  const card = host.sim!.card;
  const count = () => ({ fbs: card.fbCount, gem: card.gemHandleCount });
  let base = count();
  let shownMidway = false;
  try {
    for (let n = 0; n < CYCLES; n++) {
      for (const c of configs) await engine.prepare(c, c.name);
      for (const c of configs) expect((await engine.activate(c.name, c)).state).toBe('active');
      if (n === CYCLES / 2) shownMidway = card.fbCount > base.fbs && card.gemHandleCount > base.gem;
      for (const c of configs) await engine.release(c.name, 'destroyed', c);
      if (n === WARM_UP - 1) base = count();
    }
    const end = count();
    return { fbs: end.fbs - base.fbs, gem: end.gem - base.gem, shownMidway };
  } finally {
    await engine.shutdown();
    host.close();
    rmSync(run, { recursive: true, force: true });
  }
}

test(`${CYCLES} start/stop cycles of 4 domains: the daemon's fds, fbs, GEM handles and RSS stay flat, every monitor comes back byte for byte`, () =>
  faultCase('100 start/stop cycles of 4 domains', async () => {
    const monitors = ['eDP-1', 'HDMI-A-1', 'DP-1'];
    const before = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    const card = await rig.dump();
    const c = await rig.client();
    let warm: ProcStats | null = null;
    try {
      for (let n = 0; n < CYCLES; n++) {
        // Each round as libvirt would send it for four guests starting and stopping together.
        const prepared = await Promise.all(XMLS.map((x, i) => c.call('Prepare', 'ss', [`vm${i}`, x])));
        expect(prepared.map((p) => p[0])).toEqual(['prepared', 'prepared', 'prepared', 'prepared']);
        const active = await Promise.all(XMLS.map((x, i) => c.call('Activate', 'ss', [`vm${i}`, x])));
        expect(active.map((p) => p[0])).toEqual(['active', 'active', 'active', 'active']);
        if (n === CYCLES / 2) {
          // Midway the guests really are on screen: every monitor differs from the host's own.
          const shown = await Promise.all(monitors.map((m) => rig.screenshot(m)));
          expect(shown.map((s, i) => s.equals(before[i]))).toEqual([false, false, false]);
        }
        const released = await Promise.all(XMLS.map((x, i) => c.call('Release', 'sss', [`vm${i}`, x, 'destroyed'])));
        expect(released.map((p) => p[0])).toEqual(['released', 'released', 'released', 'released']);
        if (n === WARM_UP - 1) warm = procStats(rig.pid);
      }
    } finally {
      c.close();
    }
    const end = procStats(rig.pid);
    expect(await rig.status()).toEqual([]);
    const after = await Promise.all(monitors.map((m) => rig.screenshot(m)));
    expect(after.map((s, i) => s.equals(before[i]))).toEqual([true, true, true]);
    expect(end.fds).toBe(warm!.fds);
    // Nor files: 1200 journal writes leave no record and no temporary file behind.
    expect(readdirSync(join(rig.runDir, 'domains'))).toEqual([]);
    const rssKiB = end.rssKiB - warm!.rssKiB;
    expect(rssKiB).toBeLessThan(RSS_BOUND_KIB);

    const sim = await engineCycles();
    expect(sim.shownMidway).toBe(true);
    expect([sim.fbs, sim.gem]).toEqual([0, 0]);
    expect(await rig.dump()).toEqual(card); // every property of every object, blobs by their bytes
    rig.expectNoCrash();
    return { restoredByteForByte: true, leaks: { fds: end.fds - warm!.fds, fbs: sim.fbs, gem: sim.gem, rssKiB } };
  }));
