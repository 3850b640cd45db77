import { FaultRig, differing, dumpOf, gvtGuest, rowOf, screens, sizeOf } from '../helpers/e2e-rig';
import type { Dump } from '../helpers/e2e-rig';

/**
 * Issue 13 items 8 and 9 over what test/daemon/hotplug-daemon and master-daemon do not compare:
 * two guests sharing one CRTC (one set 1280x720 on HDMI-A-1, the other on an overlay there)
 * through unplug, replug, link-status Bad and master loss and return, each event injected in a
 * real daemon's simulated kernel, every guest started and stopped through the hook shim. Each
 * case ends with every monitor's PNG bytes and every property of every object as before.
 */
jest.setTimeout(60_000);

const MONITORS = ['eDP-1', 'HDMI-A-1', 'DP-1'];
const A = gvtGuest(1, 'a', 'HDMI-A-1', { mode: '1280x720' });
const B = gvtGuest(2, 'b', 'HDMI-A-1', { window: { x: 100, y: 100, w: 960, h: 540 } });
let rig: FaultRig;
let before: { shots: Record<string, Buffer>; dump: Dump };

beforeAll(async () => {
  rig = await FaultRig.start('sim:gvt-skylake-directflip');
  before = { shots: await screens(rig, MONITORS), dump: await dumpOf(rig) };
});
afterAll(() => rig?.stop());
afterEach(async () => {
  for (const d of await rig.status()) await rig.call('Release', 'sss', [d[0], '', 'destroyed']);
});

const both = (state: string) => rig.until(async () => {
  const s = await rig.states();
  return s.length === 2 && s.every(([, x]) => x === state) ? s : null;
});

async function showBoth(): Promise<Buffer> {
  rig.startGuest('a', A);
  rig.startGuest('b', B);
  expect(await sizeOf(rig, 'HDMI-A-1')).toEqual([1280, 720]);
  return rig.screenshot('HDMI-A-1');
}

async function releaseBothAndCompare(): Promise<void> {
  rig.stopGuest('a', A);
  rig.stopGuest('b', B);
  expect(await rig.status()).toEqual([]);
  expect(differing(await screens(rig, MONITORS), before.shots)).toEqual([]);
  expect(await dumpOf(rig)).toEqual(before.dump);
  rig.expectNoCrash();
}

test('unplug parks both guests of the shared CRTC; replug shows both again exactly; release gives everything back', async () => {
  const shown = await showBoth();
  await rig.sim('Unplug', 's', ['HDMI-A-1']);
  expect(await both('parked')).not.toBeNull();
  for (const n of ['a', 'b']) expect((await rowOf(rig, n))?.[3]).toContain('parked: HDMI-A-1 unplugged');
  await rig.sim('Replug', 's', ['HDMI-A-1']);
  expect(await both('active')).not.toBeNull();
  expect((await rig.screenshot('HDMI-A-1')).equals(shown)).toBe(true);
  await releaseBothAndCompare();
});

test('link-status Bad under the shared CRTC is retrained; both stay shown; release gives everything back', async () => {
  const shown = await showBoth();
  const retrained = (rig.daemon!.log().match(/link-status of HDMI-A-1 was Bad: the mode was committed again/g) ?? []).length;
  await rig.sim('SetLinkStatus', 'ss', ['HDMI-A-1', 'bad']);
  expect(await rig.until(async () => (rig.daemon!.log().match(/link-status of HDMI-A-1 was Bad: the mode was committed again/g) ?? []).length > retrained)).toBe(true);
  expect((await dumpOf(rig))['connector:HDMI-A-1']['link-status']).toBe('0'); // Good again
  expect(await rig.states()).toEqual([['a', 'active'], ['b', 'active']]);
  expect((await rig.screenshot('HDMI-A-1')).equals(shown)).toBe(true);
  await releaseBothAndCompare();
});

test('master taken parks both; given back, both are shown exactly; release gives everything back', async () => {
  const shown = await showBoth();
  await rig.sim('TakeMaster', '', []);
  expect(await both('parked')).not.toBeNull();
  await rig.sim('ReturnMaster', '', []);
  expect(await both('active')).not.toBeNull();
  expect((await rig.screenshot('HDMI-A-1')).equals(shown)).toBe(true);
  await releaseBothAndCompare();
});

test('released while unplugged: both releases succeed and, plugged back, every monitor and property is as before', async () => {
  await showBoth();
  await rig.sim('Unplug', 's', ['HDMI-A-1']);
  expect(await both('parked')).not.toBeNull();
  rig.stopGuest('b', B);
  rig.stopGuest('a', A);
  expect(await rig.status()).toEqual([]);
  await rig.sim('Replug', 's', ['HDMI-A-1']);
  expect(differing(await screens(rig, MONITORS), before.shots)).toEqual([]);
  expect(await dumpOf(rig)).toEqual(before.dump);
  rig.expectNoCrash();
});
