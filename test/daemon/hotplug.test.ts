import { parseDomainXml } from '../../src/config';
import { watchDisplay } from '../../src/daemon/display-watch';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { readTopology } from '../../src/kernel/topology';
import { guestXml } from '../helpers/guests';
import { engineRig } from '../helpers/engine-rig';

/**
 * Issue 13 item 8 on the engine itself: a HOTPLUG uevent makes it read the connectors once; a
 * shown connector gone parks its guests alone, its return shows them again from the plan, and
 * link-status Bad is retrained. The same with real processes is in hotplug-daemon.test.ts.
 */
const hdmi = parseDomainXml(guestXml('on-hdmi', '11111111-1111-4111-8111-111111111111', 'HDMI-A-1', '1280x720', 'aaaaaaaa-0000-4000-8000-000000000001'));
const dp = parseDomainXml(guestXml('on-dp', '22222222-2222-4222-8222-222222222222', 'DP-1', '1920x1080', 'aaaaaaaa-0000-4000-8000-000000000002'));

const rig = engineRig();
const { lines, log } = rig;

function topology() {
  const dev = rig.host.backend.openKms(rig.host.cards()[0]);
  try {
    return readTopology(dev);
  } finally {
    dev.close();
  }
}

/** Waits (bounded) for the engine to have reacted; the reaction is asynchronous, like the uevent. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`never happened: ${what}\n${lines.join('\n')}`);
}

const stateOf = (e: Engine, name: string) => e.status().find((s) => s.domain === name)?.state;

test('unplug parks only the guests on that connector, replug shows them again in the planned mode', async () => {
  const sim = rig.host.sim!;
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-hdmi', hdmi);
  await e.activate('on-dp', dp);
  const conn = topology().connectors.find((c) => c.name === 'HDMI-A-1')!;
  const commits = sim.card.commitLog.length;
  sim.card.hotplug('HDMI-A-1', false);
  await until('on-hdmi parked', () => stateOf(e, 'on-hdmi') === 'parked');
  const parked = e.status().find((s) => s.domain === 'on-hdmi')!;
  expect(parked.notes).toContain('parked: HDMI-A-1 unplugged');
  expect(parked.streams).toEqual([]); // its streams stopped flipping
  expect(stateOf(e, 'on-dp')).toBe('active');
  expect(e.status().find((s) => s.domain === 'on-dp')!.streams.length).toBeGreaterThan(0);
  expect(sim.card.commitLog.length).toBe(commits); // parking commits nothing
  expect(lines).toContainEqual(expect.stringMatching(/^warning on-hdmi parked: HDMI-A-1 unplugged/));

  // Meanwhile the host (or the kernel) switched that CRTC to another mode: replug must show the plan's.
  sim.card.hotplug('HDMI-A-1', true);
  await until('on-hdmi shown again', () => stateOf(e, 'on-hdmi') === 'active');
  const t = topology();
  const crtc = t.crtcs.find((c) => c.id === conn.crtcId)!;
  expect([crtc.active, crtc.mode?.hdisplay, crtc.mode?.vdisplay]).toEqual([true, 1280, 720]);
  const shown = e.status().find((s) => s.domain === 'on-hdmi')!;
  const plane = shown.plan.outputs[0].planes[0];
  expect(rig.observe()[`plane:${plane.planeId}`].FB_ID).toBe(String(plane.fbId));
  expect(shown.streams.length).toBeGreaterThan(0); // streaming again
  const reshow = sim.card.commitLog.slice(commits);
  // One modeset commit from the plan: the planned mode on the CRTC, the plan's fb on its plane.
  const fromPlan = reshow.filter((c) => c.flags & DRM_MODE_ATOMIC.ALLOW_MODESET && c.props.some((p) => p.objectId === crtc.id && p.propId === crtc.props.MODE_ID.id));
  expect(fromPlan).toHaveLength(1);
  expect(fromPlan[0].props).toContainEqual({ objectId: plane.planeId, propId: t.planes.find((p) => p.id === plane.planeId)!.props.FB_ID.id, value: BigInt(plane.fbId) });
  expect(lines).toContainEqual(expect.stringMatching(/^notice on-hdmi shown again \(HDMI-A-1 unplugged is over\)/));
});

test('a burst of uevents is read once, and changes of other connectors park nothing', async () => {
  const sim = rig.host.sim!;
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-hdmi', hdmi);
  // The start's own look at the card is queued by now; an operation after it waits for it.
  await new Promise((r) => setImmediate(r));
  await e.release('nobody', 'sync');
  const reads = () => sim.card.counters.ioctls.get('DRM_IOCTL_MODE_GETRESOURCES') ?? 0;
  const before = reads();
  sim.card.hotplug('eDP-1', false);
  sim.card.hotplug('eDP-1', true);
  sim.card.hotplug('DP-1', false);
  await until('one review', () => reads() > before);
  await new Promise((r) => setTimeout(r, 50));
  expect(reads() - before).toBe(1);
  expect(stateOf(e, 'on-hdmi')).toBe('active'); // not its connector
});

test('link-status Bad on a shown connector: the mode is committed again with Good and ALLOW_MODESET', async () => {
  const sim = rig.host.sim!;
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-dp', dp);
  const conn = topology().connectors.find((c) => c.name === 'DP-1')!;
  const link = conn.props['link-status'];
  const commits = sim.card.commitLog.length;
  sim.card.setLinkStatus('DP-1', false);
  await until('retrained', () => topology().connectors.find((c) => c.name === 'DP-1')!.props['link-status'].value === 0n);
  const retrain = sim.card.commitLog.slice(commits).find((c) => c.props.some((p) => p.objectId === conn.id && p.propId === link.id));
  expect(retrain).toBeDefined();
  expect(retrain!.props.find((p) => p.propId === link.id)!.value).toBe(0n);
  expect(retrain!.flags & DRM_MODE_ATOMIC.ALLOW_MODESET).toBeTruthy();
  const crtc = topology().crtcs.find((c) => c.id === conn.crtcId)!;
  expect([crtc.active, crtc.mode?.hdisplay, crtc.mode?.vdisplay]).toEqual([true, 1920, 1080]);
  expect(stateOf(e, 'on-dp')).toBe('active');
  expect(lines).toContainEqual(expect.stringMatching(/^notice on-dp link-status of DP-1 was Bad: the mode was committed again/));
});

test('a daemon started while a shown monitor is unplugged parks its guest at once, and shows it at replug', async () => {
  const sim = rig.host.sim!;
  const first = new Engine(rig.host, new Journal(rig.run), log);
  await first.activate('on-hdmi', hdmi);
  await first.shutdown(); // gives the display back; the journal keeps the guest for the next start
  sim.card.hotplug('HDMI-A-1', false); // while no daemon listens
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.reconcile();
  await until('parked after the start', () => stateOf(e, 'on-hdmi') === 'parked');
  expect(e.status()[0].notes).toContain('parked: HDMI-A-1 unplugged');
  sim.card.hotplug('HDMI-A-1', true);
  await until('shown again', () => stateOf(e, 'on-hdmi') === 'active');
});

test('release of a guest whose connector is gone restores everything else and does not fail', async () => {
  const sim = rig.host.sim!;
  const before = rig.observe();
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-hdmi', hdmi);
  await e.activate('on-dp', dp);
  sim.card.hotplug('HDMI-A-1', false);
  await until('on-hdmi parked', () => stateOf(e, 'on-hdmi') === 'parked');
  await expect(e.release('on-hdmi', 'destroyed', hdmi)).resolves.toMatchObject({ state: 'released' });
  await expect(e.release('on-dp', 'destroyed', dp)).resolves.toMatchObject({ state: 'released' });
  sim.card.hotplug('HDMI-A-1', true);
  const after = rig.observe();
  const conn = topology().connectors.find((c) => c.name === 'HDMI-A-1')!;
  // Everything but the connector's own status is as before, the unplugged output included.
  expect(after).toEqual(before);
  expect(conn.status).toBe('connected');
});

test('the watch reacts to HOTPLUG of its own card only, once per burst, and survives what it is handed', async () => {
  let deliver: (u: unknown) => void = () => undefined;
  let stopped = 0;
  const backend = {
    ...rig.host.backend,
    watchUevents: (cb: (u: never) => void) => {
      deliver = cb as (u: unknown) => void;
      return () => void stopped++;
    },
  };
  let calls = 0;
  const stop = watchDisplay(backend, '/dev/dri/card1', () => {
    calls++;
    throw new Error('a reaction that fails');
  }, log);
  const ev = (env: Record<string, string>) => ({ action: 'change', devpath: '/devices/x/drm/card1', subsystem: 'drm', env: { HOTPLUG: '1', ...env } });
  for (const bad of [null, 42, {}, { env: null }, ev({ MINOR: '0' }), { ...ev({ MINOR: '1' }), action: 'add' }, { ...ev({ MINOR: '1' }), subsystem: 'usb' }]) deliver(bad);
  await new Promise((r) => setImmediate(r));
  expect(calls).toBe(0);
  deliver(ev({ MINOR: '1', CONNECTOR: '77' }));
  deliver(ev({ MINOR: '1' }));
  await new Promise((r) => setImmediate(r));
  expect(calls).toBe(1);
  deliver({ action: 'change', devpath: '', subsystem: 'drm', env: { DIRECTFLIP_OVERRUN: '1' } }); // lost events: look again
  await new Promise((r) => setImmediate(r));
  expect(calls).toBe(2);
  expect(lines.filter((l) => /reacting to a hotplug of \/dev\/dri\/card1 failed: a reaction that fails/.test(l))).toHaveLength(2);
  stop();
  deliver(ev({ MINOR: '1' }));
  await new Promise((r) => setImmediate(r));
  expect([calls, stopped]).toEqual([2, 1]);
});
