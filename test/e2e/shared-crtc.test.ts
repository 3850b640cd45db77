import { FaultRig, differing, dumpOf, gvtGuest, rowOf, screens, sizeOf } from '../helpers/e2e-rig';
import type { Dump } from '../helpers/e2e-rig';

/**
 * Issue 13 item 3, must-show "two guests on one CRTC, released in both orders, give every
 * monitor back byte for byte", with real processes: `directflip daemon --host sim:… --root`, a
 * dbus-daemon, and every guest started and stopped through the hook shim run as libvirt runs it.
 * Guest A sets the mode on the connector and shows its primary there; B joins that CRTC on an
 * overlay (a 2:1 downscale), in the mode A set. HDMI-A-1 runs fbcon at 1920x1080 at boot and A
 * sets 1280x720 (pipe B's two scalers serve A's primary and B). DP-1 is dark at boot, and A lights
 * it at 1920x1080: pipe C has one scaler, which B's window takes (the kernel refuses a second).
 */
jest.setTimeout(60_000);

const MONITORS = ['eDP-1', 'HDMI-A-1', 'DP-1'];
let rig: FaultRig;
let before: { shots: Record<string, Buffer>; dump: Dump };

beforeAll(async () => {
  rig = await FaultRig.start('sim:gvt-skylake-directflip');
  before = { shots: await screens(rig, MONITORS), dump: await dumpOf(rig) };
});
afterAll(() => rig?.stop());
// A failed case must not leave its guests to the next one.
afterEach(async () => {
  for (const d of await rig.status()) await rig.call('Release', 'sss', [d[0], '', 'destroyed']);
});

const MODE: Record<string, string> = { 'HDMI-A-1': '1280x720', 'DP-1': '1920x1080' };
const pair = (connector: string) => ({
  a: gvtGuest(1, 'a', connector, { mode: MODE[connector] }),
  b: gvtGuest(2, 'b', connector, { window: { x: 100, y: 100, w: 960, h: 540 } }),
});
const planeOf = async (name: string) => (await rowOf(rig, name))?.[2][0];

test.each([
  ['HDMI-A-1', 'a', 'b'], ['HDMI-A-1', 'b', 'a'], ['DP-1', 'a', 'b'], ['DP-1', 'b', 'a'],
])('two guests on one CRTC of %s, released %s (then %s) through the hook, give every monitor back byte for byte', async (connector, first, second) => {
  const xml = pair(connector);
  rig.startGuest('a', xml.a);
  rig.startGuest('b', xml.b);
  const [pa, pb] = [await planeOf('a'), await planeOf('b')];
  // One CRTC (the struct's third field), two planes (its fourth); both in A's mode.
  expect([pa?.[0], pa?.[1], pb?.[0], pb?.[1]]).toEqual([connector, expect.stringMatching(new RegExp(`^${MODE[connector]}`)), connector, expect.stringMatching(new RegExp(`^${MODE[connector]}`))]);
  expect(pa?.[2]).toBe(pb?.[2]);
  expect(pa?.[3]).not.toBe(pb?.[3]);
  expect((await sizeOf(rig, connector)).join('x')).toBe(MODE[connector]);
  const during = await rig.screenshot(connector);
  expect(await dumpOf(rig)).not.toEqual(before.dump); // the guests did change the kernel's state

  rig.stopGuest(first, xml[first as 'a' | 'b']);
  // The one who stays is still shown, in the mode A set, and the picture changed (one plane left).
  expect(await rig.states()).toEqual([[second, 'active']]);
  expect((await sizeOf(rig, connector)).join('x')).toBe(MODE[connector]);
  expect((await rig.screenshot(connector)).equals(during)).toBe(false);

  rig.stopGuest(second, xml[second as 'a' | 'b']);
  expect(await rig.status()).toEqual([]);
  expect(differing(await screens(rig, MONITORS), before.shots)).toEqual([]);
  expect(await dumpOf(rig)).toEqual(before.dump);
  expect(rig.daemon!.log()).not.toMatch(/^<[0-3]>/m); // no error on the way
  rig.expectNoCrash();
});
