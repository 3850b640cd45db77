import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { probeMdev } from '../../src/probe/mdev-caps';
import { withVfioDevice } from '../../src/sources/vfio-query';
import { listMdevs } from '../../src/sys/mdevs';
import { FaultRig } from '../helpers/fault-rig';

/**
 * Issue 13 item 10: a running guest's mdev is its QEMU's from `start` on (the simulated host
 * holds every hostdev mdev of a started domain, as QEMU does), so the daemon cannot be the
 * `vfio` source of a running guest. `source="vfio"` is refused at prepare with the reason and the
 * remedy, `auto` never picks it, and VFIO's plane queries still serve `probe`.
 */
jest.setTimeout(60_000);

const NS = 'https://directflip.github.io/xmlns/domain/1';
const MBOCHS = '0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10';
const xml = (source: string, graphics = "<graphics type='dbus'/>") => `<domain><name>mb</name><uuid>44444444-4444-4444-8444-444444444444</uuid>
  <metadata><directflip xmlns="${NS}" on-error="abort"><output connector="Virtual-1"><plane from="primary" mdev="${MBOCHS}" source="${source}"/></output></directflip></metadata>
  <devices>${graphics}<hostdev mode='subsystem' type='mdev' display='on'><source><address uuid='${MBOCHS}'/></source></hostdev></devices></domain>`;
const REMEDY = /source vfio cannot show a running guest: from `start` on, the guest's QEMU holds mdev 0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10 \(the daemon's open gets EBUSY, ESRCH for GVT-g\)\. Use source="qemu-dbus" \(or auto\): display='on' on the mdev's <hostdev> and <graphics type='dbus'\/> in <devices>/;

const log = () => undefined;
let run: string;
let host: Host;
let engine: Engine | undefined;
beforeEach(() => {
  run = mkdtempSync(join(tmpdir(), 'directflip-run-'));
  host = openHost('sim:vkms');
});
afterEach(async () => {
  await engine?.shutdown();
  engine = undefined;
  host.close();
  rmSync(run, { recursive: true, force: true });
});

/** What the daemon (or anyone but QEMU) gets when it opens the mdev's VFIO device now. */
const openCode = () => {
  const r = withVfioDevice(host, MBOCHS, () => 'opened');
  return 'ok' in r ? r.ok : r.code;
};

test('source="vfio" is refused at prepare with the reason and the remedy; nothing is reserved', async () => {
  const e = (engine = new Engine(host, new Journal(run), log));
  await expect(e.prepare(parseDomainXml(xml('vfio')))).rejects.toMatchObject({ kind: 'Refused', message: expect.stringMatching(REMEDY) });
  expect(e.status()).toEqual([]);
  // The same guest through QEMU's D-Bus display is prepared.
  await expect(e.prepare(parseDomainXml(xml('qemu-dbus')))).resolves.toMatchObject({ state: 'prepared' });
});

test('auto never picks vfio, even for an mdev VFIO can query: D-Bus if the domain has it, else a refusal naming it', async () => {
  expect(openCode()).toBe('opened'); // nothing holds it before the guest starts
  const e = (engine = new Engine(host, new Journal(run), log));
  const s = await e.prepare(parseDomainXml(xml('auto')));
  expect(Object.values(s.sources).map((x) => x.source)).toEqual(['qemu-dbus']);
  await e.release('mb', 'destroyed');
  const err = await e.prepare(parseDomainXml(xml('auto', ''))).catch((x: unknown) => x);
  expect(err).toMatchObject({ kind: 'InvalidConfig', message: expect.stringMatching(/no plane source: .*Add <graphics type='dbus'\/>/) });
  expect((err as Error).message).not.toMatch(/vfio/);
});

test("from started on, the simulated host holds the domain's hostdev mdevs for its QEMU: others get EBUSY until it stops", async () => {
  const e = (engine = new Engine(host, new Journal(run), log));
  const config = parseDomainXml(xml('qemu-dbus'));
  await e.prepare(config);
  expect(openCode()).toBe('opened'); // prepare: QEMU does not run yet
  await e.activate('mb', config);
  expect(host.sim!.vfio.mdev(MBOCHS).heldByQemu).toBe(true);
  expect(openCode()).toBe('EBUSY');
  // probe still reports it, and why it cannot be queried now.
  const busy = probeMdev(host, listMdevs(host.sys).find((m) => m.uuid === MBOCHS)!);
  expect(busy.errorCode).toBe('EBUSY');
  await e.release('mb', 'stopped end destroyed', config);
  expect(openCode()).toBe('opened');
});

test("VFIO's plane queries still serve probe for an mdev no QEMU holds", () => {
  const report = probeMdev(host, listMdevs(host.sys).find((m) => m.uuid === MBOCHS)!);
  expect([report.errorCode, report.unavailable]).toEqual([null, null]);
  expect(report.methods).toContain('dmabuf');
  expect(report.planes.find((p) => p.plane === 'primary')).toMatchObject({ width: expect.any(Number), height: expect.any(Number) });
});

test('a real daemon refuses a source="vfio" domain at prepare through the hook, with the remedy on stderr', async () => {
  const rig = await FaultRig.start('sim:vkms');
  try {
    const r = rig.hook('mb', 'prepare', 'begin', xml('vfio'));
    expect([r.status, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(REMEDY);
    expect(await rig.status()).toEqual([]);
    expect(rig.hook('mb', 'release', 'end', xml('vfio')).status).toBe(0);
    rig.expectNoCrash();
  } finally {
    await rig.stop();
  }
});
