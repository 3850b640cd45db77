import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { DaemonError } from '../../src/daemon/errors';
import { Journal } from '../../src/daemon/journal';
import { nameUuid, recordFileName } from '../../src/daemon/state-name';
import { openHost } from '../../src/kernel/host';
import { REPO } from '../helpers/fixtures';
import { engineRig } from '../helpers/engine-rig';

const kiosk = parseDomainXml(readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml')));
const NS = 'https://directflip.github.io/xmlns/domain/1';
const rig = engineRig();
const { lines, log } = rig;

test('prepare → activate → release: the plan is shown, journalled, and the host display comes back exactly', async () => {
  const before = rig.observe();
  const e = new Engine(rig.host, new Journal(rig.run), log);
  const p = await e.prepare(kiosk);
  expect(p.state).toBe('prepared');
  expect(rig.observe()).toEqual(before); // prepare shows nothing
  const file = join(rig.run, 'domains', '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.json');
  expect(JSON.parse(readFileSync(file, 'utf8')).state).toBe('prepared');
  const a = await e.activate('kiosk-hdmi');
  expect(a.state).toBe('active');
  const during = rig.observe();
  const primary = a.plan.outputs[0].planes[0].planeId;
  expect(during[`plane:${primary}`].FB_ID).toBe(String(a.plan.outputs[0].planes[0].fbId));
  expect(JSON.parse(readFileSync(file, 'utf8')).snapshots.length).toBeGreaterThan(0);
  const r = await e.release('kiosk-hdmi', 'shutdown', kiosk);
  expect(r).toEqual({ state: 'released', notes: [] });
  expect(rig.observe()).toEqual(before);
  expect(existsSync(file)).toBe(false);
  expect(readdirSync(join(rig.run, 'domains'))).toEqual([]); // no temporary files left behind
  expect(lines.some((l) => /^notice kiosk-hdmi active: HDMI-A-1/.test(l))).toBe(true);
});

test('release is idempotent and never fails, even for a domain never prepared', async () => {
  const e = new Engine(rig.host, new Journal(rig.run), log);
  await expect(e.release('never-seen', 'failed')).resolves.toEqual({ state: 'released', notes: [] });
  await e.prepare(kiosk);
  await e.release('kiosk-hdmi', 'failed');
  await expect(e.release('kiosk-hdmi', 'failed')).resolves.toEqual({ state: 'released', notes: [] });
});

test('activate without prepare is NotPrepared', async () => {
  const e = new Engine(rig.host, new Journal(rig.run), log);
  await expect(e.activate('kiosk-hdmi')).rejects.toMatchObject({ kind: 'NotPrepared' });
});

test('16 domains prepared at once: each gets its own plane or a clear refusal, never a plane twice', async () => {
  const e = new Engine(rig.host, new Journal(rig.run), log);
  const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const domains = Array.from({ length: 16 }, (_, i) => parseDomainXml(`<domain><name>vm${i}</name><metadata><directflip xmlns="${NS}">
      <output connector="HDMI-A-1"><plane from="primary" mdev="${uuid(i)}" to="overlay" x="${i * 10}" y="${i * 10}" width="960" height="540"/></output>
    </directflip></metadata><devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${uuid(i)}'/></source></hostdev></devices></domain>`));
  const results = await Promise.allSettled(domains.map((d) => e.prepare(d)));
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<Engine['prepare']>>>).value);
  const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
  // Pipe B has three sprites but two scalers: the third scaled window cannot go on screen with
  // the first two, so it is refused at prepare, not when it is started.
  expect(ok).toHaveLength(2);
  expect(refused).toHaveLength(14);
  for (const r of refused) {
    expect(r).toBeInstanceOf(DaemonError);
    expect(r.kind).toBe('Refused');
    expect(r.message).toMatch(/held by domain vm\d+/);
  }
  for (const s of ok) await e.activate(s.domain);
  const planes = ok.map((s) => s.plan.outputs[0].planes[0].planeId);
  expect(new Set(planes).size).toBe(planes.length);
});

test('after a SIGKILL the restarted daemon re-adopts the active domain, and release still gives back the original display', async () => {
  const before = rig.observe();
  const a = new Engine(rig.host, new Journal(rig.run), log);
  await a.prepare(kiosk);
  await a.activate('kiosk-hdmi');
  a.dev.close(); // what the kernel does when the process dies: our fbs go, their planes go dark
  const b = new Engine(rig.host, new Journal(rig.run), log);
  await b.reconcile();
  const s = b.status();
  expect(s.map((x) => [x.domain, x.state])).toEqual([['kiosk-hdmi', 'active']]);
  const shown = rig.observe();
  for (const p of s[0].plan.outputs[0].planes) expect(shown[`plane:${p.planeId}`].FB_ID).not.toBe('0');
  expect(lines.some((l) => /^notice kiosk-hdmi re-adopted after a daemon restart/.test(l))).toBe(true);
  await b.release('kiosk-hdmi', 'destroyed');
  expect(rig.observe()).toEqual(before);
});

test('a journal holding only a prepared domain is dropped on restart, and said so', async () => {
  const a = new Engine(rig.host, new Journal(rig.run), log);
  await a.prepare(kiosk);
  a.dev.close();
  const b = new Engine(rig.host, new Journal(rig.run), log);
  await b.reconcile();
  expect(b.status()).toEqual([]);
  expect(lines.some((l) => /kiosk-hdmi was only prepared when the daemon stopped: dropped/.test(l))).toBe(true);
});

// DRM master is held only while a domain needs it (issue 13 item 9): a card whose master is
// another's refuses the prepare, not the daemon's start.
test('a prepare on a card whose master another process holds is refused, saying who holds it', async () => {
  const first = new Engine(rig.host, new Journal(rig.run), log);
  await first.prepare(kiosk);
  const second = new Engine(rig.host, new Journal(mkdtempSync(join(tmpdir(), 'directflip-run-'))), log);
  await expect(second.prepare(kiosk)).rejects.toMatchObject({ kind: 'Refused', message: expect.stringMatching(/^DRM master of \/dev\/dri\/card0 is held by .*\(EBUSY\)/) });
  await second.shutdown();
  await first.shutdown();
});

test('records are named by the canonical UUID; an XML without <uuid> gets one derived from its name', () => {
  expect(recordFileName('5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11')).toBe('5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.json');
  for (const bad of ['5B0B4C1E-8F4F-4F53-9D4E-2D7C0C0A7A11', '../x', 'kiosk-hdmi', '']) expect(() => recordFileName(bad)).toThrow(/canonical lower-case UUID/);
  const long = 'é'.repeat(150);
  expect(recordFileName(nameUuid(long))).toHaveLength(41);
  expect(nameUuid('vm1')).toBe(nameUuid('vm1'));
  expect(nameUuid('vm1')).not.toBe(nameUuid('vm2'));
});

test("gvt-fb: the guest's kernel fb is assigned once, and the guest's flips reach the screen with no work by the daemon", async () => {
  rig.host.close();
  rig.host = openHost('sim:gvt-skylake-directflip');
  const e = new Engine(rig.host, new Journal(rig.run), log);
  const s = await e.prepare(kiosk);
  expect(Object.values(s.sources).map((x) => x.source)).toEqual(['gvt-fb', 'gvt-fb']);
  await e.activate('kiosk-hdmi');
  const sim = rig.host.sim!;
  const crtc = s.plan.outputs[0].crtcId;
  const { renderCrtc } = await import('../../src/kernel/sim/render');
  const first = renderCrtc(sim.card, crtc).rgba;
  const ioctls = [...sim.card.counters.ioctls.values()].reduce((a, b) => a + b, 0);
  const uuid = 'c2177883-f1bb-47f0-914d-32a22e3a8804';
  for (let i = 0; i < 10; i++) sim.vfio.guestFlip(uuid, 'primary', Buffer.alloc(sim.vfio.mdev(uuid).planes.primary!.buffer.pixels.length, i * 20));
  expect([...sim.card.counters.ioctls.values()].reduce((a, b) => a + b, 0)).toBe(ioctls);
  const after = renderCrtc(sim.card, crtc).rgba;
  expect(after.equals(first)).toBe(false);
  const at = (500 * 1920 + 500) * 4; // away from the cursor in the top-left corner
  expect([after[at], after[at + 1], after[at + 2]]).toEqual([180, 180, 180]);
  await e.release('kiosk-hdmi', 'destroyed');
});

// source vfio is refused at prepare (issue 13 item 10): test/daemon/vfio-honesty.test.ts.
