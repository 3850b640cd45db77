import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { describeFb, fbExists } from '../../src/kms/fb-info';
import { buildRequest, describeGuests } from '../../src/kms/request';
import { resolvePlane } from '../../src/sources/resolve';
import { restoreSnapshots } from '../../src/kms/restore';
import { snapshotObject } from '../../src/kms/snapshot';
import { REPO } from '../helpers/fixtures';

// GETFB2 gives a master (or CAP_SYS_ADMIN) a new GEM handle per buffer on every call; nothing
// that only asks what an fb is may keep one.

const kiosk = parseDomainXml(readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml')));
let host: Host;
let dev: KmsDevice;
const handles = () => host.sim!.card.gemHandleCount;

beforeEach(() => {
  host = openHost('sim:gvt-skylake-directflip');
  dev = host.backend.openKms(host.cards()[0]);
  dev.setMaster();
  readTopology(dev);
});
afterEach(() => host.close());

function fbconFb(): number {
  const t = readTopology(dev);
  const fb = t.planes.find((p) => p.type === 'primary' && p.fbId)!.fbId;
  expect(fb).not.toBe(0);
  return fb;
}

test('a raw GETFB2 does take a handle, so the checks below can see a leak', () => {
  const before = handles();
  const raw = dev.getFb2(fbconFb());
  expect(raw.handles[0]).not.toBe(0);
  expect(handles()).toBe(before + 1);
  dev.gemClose(raw.handles[0]);
  expect(handles()).toBe(before);
});

test('describeFb and fbExists answer 100 times with the handle count flat', () => {
  const fb = fbconFb();
  const before = handles();
  for (let i = 0; i < 100; i++) {
    expect(describeFb(dev, fb)).toMatchObject({ fbId: fb, width: 1920, height: 1080, handles: [0] });
    expect(fbExists(dev, fb)).toBe(true);
  }
  expect(fbExists(dev, 0x7fff0)).toBe(false);
  expect(handles()).toBe(before);
});

test('restore checks each plane\'s prior fb without keeping a handle', () => {
  const primary = readTopology(dev).planes.find((p) => p.type === 'primary' && p.fbId)!;
  const snap = snapshotObject(dev, 'plane', primary.id);
  const before = handles();
  for (let i = 0; i < 100; i++) restoreSnapshots(dev, [snap], 'previous');
  expect(handles()).toBe(before);
});

test("resolving gvt-fb planes (GETFB2 on the guest's kernel fbs) 100 times keeps the count flat", () => {
  const t = readTopology(dev);
  const before = handles();
  for (let i = 0; i < 100; i++) {
    const built = buildRequest(dev, kiosk, describeGuests(t, kiosk, (p, size) => resolvePlane(host, dev, kiosk, p, size)));
    expect(Object.values(built.sources).map((s) => s.source)).toEqual(['gvt-fb', 'gvt-fb']);
    built.standIns.cleanup();
  }
  expect(handles()).toBe(before);
});

test('the engine re-adopting gvt-fb planes after a restart checks their fbs without a leak', async () => {
  dev.close();
  const run = mkdtempSync(join(tmpdir(), 'directflip-handles-'));
  try {
    const log = () => undefined;
    const first = new Engine(host, new Journal(run), log);
    await first.prepare(kiosk);
    await first.activate('kiosk-hdmi', kiosk);
    first.dev.close();
    const second = new Engine(host, new Journal(run), log);
    const before = handles();
    await second.reconcile();
    expect(second.status().map((s) => s.state)).toEqual(['active']);
    expect(handles()).toBe(before);
    await second.release('kiosk-hdmi', 'destroyed');
    expect(handles()).toBe(before);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
