import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { cardOpeners, describeHolder } from '../../src/daemon/master';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { Host } from '../../src/kernel/host';
import { dumpProperties, readTopology } from '../../src/kernel/topology';
import type { AtomicProp } from '../../src/kernel/types';
import { guestXml } from '../helpers/guests';
import { engineRig } from '../helpers/engine-rig';

/** Issue 13 item 9 on the engine: DRM master only while needed; lost and regained. */
jest.setTimeout(30_000);

const hdmi = parseDomainXml(guestXml('on-hdmi', '11111111-1111-4111-8111-111111111111', 'HDMI-A-1', '1280x720', 'aaaaaaaa-0000-4000-8000-000000000001'));
const rig = engineRig();
const { lines, log } = rig;

function withFile<T>(fn: (dev: ReturnType<Host['backend']['openKms']>) => T): T {
  const dev = rig.host.backend.openKms(rig.host.cards()[0]);
  try {
    return fn(dev);
  } finally {
    dev.close();
  }
}

/** Another process (a compositor) tries to become master; true if it could. */
const otherCanBeMaster = () =>
  withFile((dev) => {
    try {
      dev.setMaster();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EBUSY') return false;
      throw e;
    }
    dev.dropMaster();
    return true;
  });

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`never happened: ${what}\n${lines.join('\n')}`);
}
const stateOf = (e: Engine, name: string) => e.status().find((s) => s.domain === name)?.state;

test('an idle daemon holds no master; the first prepare takes it and the last release gives it back', async () => {
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  expect(otherCanBeMaster()).toBe(true);
  await e.prepare(hdmi);
  expect(otherCanBeMaster()).toBe(false);
  await e.activate('on-hdmi');
  expect(otherCanBeMaster()).toBe(false);
  await e.release('on-hdmi', 'destroyed', hdmi);
  expect(otherCanBeMaster()).toBe(true);
  // A prepare that is refused leaves it idle too.
  await expect(e.prepare(parseDomainXml(guestXml('nowhere', '33333333-3333-4333-8333-333333333333', 'DP-1', '640x200', 'aaaaaaaa-0000-4000-8000-000000000003')))).rejects.toMatchObject({ kind: expect.any(String) });
  expect(otherCanBeMaster()).toBe(true);
  expect(lines).toContainEqual('info - DRM master of /dev/dri/card0 dropped: no domain is prepared or shown');
});

test('prepare while another process is master is refused, naming the card and the holder', async () => {
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  rig.host.sim!.card.takeMaster();
  const err = await e.prepare(hdmi).catch((x: unknown) => x);
  expect(err).toMatchObject({ kind: 'Refused', message: expect.stringMatching(/^DRM master of \/dev\/dri\/card0 is held by .* \(EBUSY\): stop that compositor/) });
  expect(e.status()).toEqual([]);
  rig.host.sim!.card.returnMaster();
  await expect(e.prepare(hdmi)).resolves.toMatchObject({ state: 'prepared' });
});

test('master taken while shown: parked with the reason; given back: shown again from the plan', async () => {
  const sim = rig.host.sim!;
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  const shown = await e.activate('on-hdmi', hdmi);
  const plane = shown.plan.outputs[0].planes[0];
  const crtcId = shown.plan.outputs[0].crtcId;
  const during = withFile((dev) => dumpProperties(dev));
  sim.card.takeMaster();
  await until('parked', () => stateOf(e, 'on-hdmi') === 'parked');
  const s = e.status()[0];
  expect(s.notes.at(-1)).toMatch(/^parked: DRM master of \/dev\/dri\/card0 was taken away \(EBUSY; it is now held by /);
  // The other master switches that monitor off, then lets go (as a compositor on a VT switch).
  sim.card.returnMaster();
  withFile((dev) => {
    dev.setMaster();
    const t = readTopology(dev);
    const crtc = t.crtcs.find((c) => c.id === crtcId)!;
    const conn = t.connectors.find((c) => c.crtcId === crtcId)!;
    const off: AtomicProp[] = [
      ...t.planes.filter((p) => p.crtcId === crtcId).flatMap((p) => [{ objectId: p.id, propId: p.props.FB_ID.id, value: 0n }, { objectId: p.id, propId: p.props.CRTC_ID.id, value: 0n }]),
      { objectId: conn.id, propId: conn.props.CRTC_ID.id, value: 0n },
      { objectId: crtc.id, propId: crtc.props.ACTIVE.id, value: 0n },
      { objectId: crtc.id, propId: crtc.props.MODE_ID.id, value: 0n },
    ];
    dev.atomic(off, DRM_MODE_ATOMIC.ALLOW_MODESET);
    dev.dropMaster();
  });
  await until('shown again', () => stateOf(e, 'on-hdmi') === 'active');
  const after = withFile((dev) => dumpProperties(dev));
  expect(after[`plane:${plane.planeId}`].FB_ID).toBe(String(plane.fbId));
  expect(after[`crtc:${crtcId}`]).toEqual(during[`crtc:${crtcId}`]);
  expect(lines).toContainEqual(expect.stringMatching(/^notice - DRM master of \/dev\/dri\/card0 is back/));
  expect(otherCanBeMaster()).toBe(false);
});

test('a prepare right after master comes back takes it at once, and the parked guest is shown again', async () => {
  const sim = rig.host.sim!;
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-hdmi', hdmi);
  sim.card.takeMaster();
  await until('parked', () => stateOf(e, 'on-hdmi') === 'parked');
  sim.card.returnMaster();
  // No waiting for the retry's backoff: the operation that needs master asks for it.
  const dp = parseDomainXml(guestXml('on-dp', '22222222-2222-4222-8222-222222222222', 'DP-1', '1920x1080', 'aaaaaaaa-0000-4000-8000-000000000002'));
  await expect(e.prepare(dp)).resolves.toMatchObject({ state: 'prepared' });
  await until('shown again', () => stateOf(e, 'on-hdmi') === 'active');
});

test('release while master is away never fails; the restore waits for master and then gives everything back', async () => {
  const sim = rig.host.sim!;
  const before = withFile((dev) => dumpProperties(dev));
  const e = (rig.engine = new Engine(rig.host, new Journal(rig.run), log));
  await e.activate('on-hdmi', hdmi);
  sim.card.takeMaster();
  await until('parked', () => stateOf(e, 'on-hdmi') === 'parked');
  await expect(e.release('on-hdmi', 'destroyed', hdmi)).resolves.toMatchObject({ state: 'restore-pending' });
  sim.card.returnMaster();
  await until('restored', () => e.status().length === 0);
  expect(withFile((dev) => dumpProperties(dev))).toEqual(before);
  expect(otherCanBeMaster()).toBe(true);
});

test('the holder is named from /proc/<pid>/fd links to the card, never our own pid', () => {
  const proc = mkdtempSync(join(tmpdir(), 'directflip-proc-'));
  try {
    const add = (pid: number, comm: string, target: string) => {
      mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
      writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
      symlinkSync(target, join(proc, String(pid), 'fd', '7'));
    };
    add(1234, 'gnome-shell', '/dev/dri/card0');
    add(99, 'directflipd', '/dev/dri/card0');
    add(55, 'other', '/dev/dri/card1');
    mkdirSync(join(proc, 'self'));
    expect(cardOpeners('/dev/dri/card0', proc, 99)).toEqual([{ pid: 1234, comm: 'gnome-shell' }]);
    expect(describeHolder('/dev/dri/card0', proc, 99)).toBe('held by gnome-shell (pid 1234)');
    expect(describeHolder('/dev/dri/card2', proc, 99)).toMatch(/^held by another process \(none in \/proc has the card open/);
    expect(describeHolder('/dev/dri/card0', join(proc, 'missing'), 99)).toMatch(/^held by another process/);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
