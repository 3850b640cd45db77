import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';
import { REPO } from '../helpers/fixtures';
import { engineRig } from '../helpers/engine-rig';

const kioskXml = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const kiosk = parseDomainXml(kioskXml);
const UUID = '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11';
const NS = 'https://directflip.github.io/xmlns/domain/1';
const dp = parseDomainXml(`<domain><name>dp</name><uuid>11111111-2222-4333-8444-555555555555</uuid><metadata><directflip xmlns="${NS}">
  <output connector="DP-1"><plane from="primary" console="0" to="primary"/></output></directflip></metadata><devices><graphics type='dbus'/></devices></domain>`);
const rig = engineRig();
const { lines, log } = rig;

/** Refuses a blocking commit that may modeset unless it comes through atomicAsync (the worker). */
function forbidBlockingModesets(dev: KmsDevice): { async: number } {
  const seen = { async: 0 };
  let inWorker = false;
  const sync = dev.atomic.bind(dev);
  const worker = dev.atomicAsync.bind(dev);
  dev.atomic = (props: AtomicProp[], flags: number, userData?: bigint) => {
    if (flags & DRM_MODE_ATOMIC.ALLOW_MODESET && !(flags & DRM_MODE_ATOMIC.TEST_ONLY) && !inWorker) throw new Error('a modeset on the event loop');
    sync(props, flags, userData);
  };
  dev.atomicAsync = async (props: AtomicProp[], flags: number, userData?: bigint) => {
    seen.async++;
    inWorker = true;
    try {
      await worker(props, flags, userData);
    } finally {
      inWorker = false;
    }
  };
  return seen;
}

/** The next commit that changes the screen fails as the kernel would; the rest go through. */
function failNextCommit(dev: KmsDevice): void {
  const real = dev.atomicAsync.bind(dev);
  let armed = true;
  dev.atomicAsync = (props: AtomicProp[], flags: number, userData?: bigint) => {
    if (armed && !(flags & DRM_MODE_ATOMIC.TEST_ONLY)) {
      armed = false;
      return Promise.reject(Object.assign(new Error('DRM_IOCTL_MODE_ATOMIC: Device or resource busy'), { code: 'EBUSY', errno: 16, syscall: 'ioctl' }));
    }
    return real(props, flags, userData);
  };
}

const ioctls = (name: string) => rig.host.sim!.card.counters.ioctls.get(name) ?? 0;

test('activate, release and re-adoption commit on the worker thread, never a blocking modeset on the event loop', async () => {
  const before = rig.observe();
  const a = new Engine(rig.host, new Journal(rig.run), log);
  const seen = forbidBlockingModesets(a.dev);
  await a.activate('kiosk-hdmi', kiosk);
  expect(seen.async).toBe(1);
  a.dev.close();
  const b = new Engine(rig.host, new Journal(rig.run), log);
  const seenB = forbidBlockingModesets(b.dev);
  await b.reconcile();
  expect(b.status().map((s) => s.state)).toEqual(['active']);
  await b.release('kiosk-hdmi', 'destroyed', kiosk);
  expect(seenB.async).toBe(2);
  expect(rig.observe()).toEqual(before);
});

test('each operation reads the topology once', async () => {
  const e = new Engine(rig.host, new Journal(rig.run), log);
  const reads = async (op: () => Promise<unknown>) => {
    const n = ioctls('DRM_IOCTL_MODE_GETRESOURCES');
    await op();
    return ioctls('DRM_IOCTL_MODE_GETRESOURCES') - n;
  };
  expect(await reads(() => e.prepare(kiosk, 'kiosk-hdmi'))).toBe(1);
  // The streams it starts use the engine's own read.
  expect(await reads(() => e.activate('kiosk-hdmi', kiosk))).toBe(1);
  expect(await reads(() => e.release('kiosk-hdmi', 'destroyed', kiosk))).toBeLessThanOrEqual(1);
});

test('a restore that fails keeps its snapshot as restore-pending, and is retried at the next release', async () => {
  const before = rig.observe();
  const e = new Engine(rig.host, new Journal(rig.run), log);
  await e.activate('kiosk-hdmi', kiosk);
  await e.activate('dp', dp);
  failNextCommit(e.dev);
  const r = await e.release('kiosk-hdmi', 'destroyed', kiosk);
  expect(r.state).toBe('restore-pending');
  expect(r.notes[0]).toMatch(/restoring the host display failed \(EBUSY.*snapshot is kept and the restore retried/);
  expect(e.status().map((s) => [s.domain, s.state])).toEqual([['kiosk-hdmi', 'restore-pending'], ['dp', 'active']]);
  const rec = JSON.parse(readFileSync(join(rig.run, 'domains', `${UUID}.json`), 'utf8'));
  expect(rec.state).toBe('restore-pending');
  expect(rec.snapshots.length).toBeGreaterThan(0);
  expect(rig.observe()).not.toEqual(before);
  // The next release (another domain's) retries it: everything comes back, nothing is left.
  expect((await e.release('dp', 'destroyed', dp)).state).toBe('released');
  expect(e.status()).toEqual([]);
  expect(readdirSync(join(rig.run, 'domains'))).toEqual([]);
  expect(rig.observe()).toEqual(before);
  expect(lines).toContainEqual(expect.stringMatching(/^notice kiosk-hdmi host display restored on retry/));
});

test('a pending restore survives a restart and is done at reconcile', async () => {
  const before = rig.observe();
  const a = new Engine(rig.host, new Journal(rig.run), log);
  await a.activate('kiosk-hdmi', kiosk);
  failNextCommit(a.dev);
  expect((await a.release('kiosk-hdmi', 'destroyed', kiosk)).state).toBe('restore-pending');
  a.dev.close();
  const b = new Engine(rig.host, new Journal(rig.run), log);
  await b.reconcile();
  expect(b.status()).toEqual([]);
  expect(readdirSync(join(rig.run, 'domains'))).toEqual([]);
  expect(rig.observe()).toEqual(before);
});

test('a domain whose restore is pending cannot be prepared again over it: refused until the retry succeeds', async () => {
  const e = new Engine(rig.host, new Journal(rig.run), log);
  await e.activate('kiosk-hdmi', kiosk);
  failNextCommit(e.dev);
  await e.release('kiosk-hdmi', 'destroyed', kiosk);
  failNextCommit(e.dev);
  await expect(e.prepare(kiosk, 'kiosk-hdmi')).rejects.toMatchObject({ kind: 'Refused', message: expect.stringMatching(/cannot be given back yet/) });
  expect((await e.prepare(kiosk, 'kiosk-hdmi')).state).toBe('prepared');
});
