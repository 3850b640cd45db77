import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { OpQueue } from '../../src/daemon/op-queue';
import { dumpProperties } from '../../src/kernel/topology';
import { REPO } from '../helpers/fixtures';
import { engineRig } from '../helpers/engine-rig';

const kiosk = parseDomainXml(readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml')));
const NS = 'https://directflip.github.io/xmlns/domain/1';
const dp = parseDomainXml(`<domain><name>dp</name><metadata><directflip xmlns="${NS}"><output connector="DP-1"><plane from="primary" console="0"/></output></directflip></metadata><devices><graphics type='dbus'/></devices></domain>`);
const rig = engineRig();
const { lines, log } = rig;

test('the queue refuses what waits and what comes once closed, after the running operation', async () => {
  const q = new OpQueue();
  const order: string[] = [];
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const first = q.run(() => {
    started();
    return new Promise<void>((r) => (release = () => (order.push('first'), r())));
  });
  const waiting = q.run(() => order.push('never'));
  await running;
  const last = q.close(() => new Error('closing'), () => order.push('last'));
  await expect(waiting).rejects.toThrow('closing');
  await expect(q.run(() => order.push('late'))).rejects.toThrow('closing');
  release();
  await first;
  await last;
  expect(order).toEqual(['first', 'last']);
});

test('shutdown answers the queued calls with ShuttingDown, gives the display back and keeps the record for re-adoption', async () => {
  const dev = rig.host.backend.openKms(rig.host.cards()[0]);
  const before = dumpProperties(dev);
  dev.close();
  const e = new Engine(rig.host, new Journal(rig.run), log);
  await e.activate('kiosk-hdmi', kiosk);
  const queued = [e.prepare(dp, 'dp'), e.release('kiosk-hdmi', 'destroyed', kiosk)];
  const stopped = e.shutdown();
  for (const q of queued) await expect(q).rejects.toMatchObject({ kind: 'ShuttingDown', dbusName: 'io.github.directflip1.Error.ShuttingDown' });
  await stopped;
  await expect(e.prepare(dp, 'dp')).rejects.toMatchObject({ kind: 'ShuttingDown' });
  const after = rig.host.backend.openKms(rig.host.cards()[0]);
  expect(dumpProperties(after)).toEqual(before);
  after.close();
  expect(lines).toContainEqual(expect.stringMatching(/^info kiosk-hdmi host display restored for the daemon stop/));
  const b = new Engine(rig.host, new Journal(rig.run), log);
  await b.reconcile();
  expect(b.status().map((s) => [s.domain, s.state])).toEqual([['kiosk-hdmi', 'active']]);
  await b.release('kiosk-hdmi', 'destroyed', kiosk);
});
