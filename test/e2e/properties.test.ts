import { FaultRig, differing, dumpOf, rowOf, screens } from '../helpers/e2e-rig';
import type { Dump } from '../helpers/e2e-rig';
import { hostSetsEverything } from '../helpers/e2e-host-props';
import { guestXml } from '../helpers/guests';

/**
 * Issue 13 item 7, must-show "full property dumps match before and after, across all the
 * properties listed in item 7", on sim:gvt-skylake with real processes: a host compositor set
 * every colour, range, bpc, HDCP, HDR and blend property to a non-default value on the
 * simulated kernel's --root and exited; the daemon boots on that kernel; two guests (one at
 * 1280x720 on fbcon's HDMI-A-1, one lighting the dark DP-1) come and go through the hook. While
 * they are shown, what their pictures depend on is neutral; after, every property of every
 * object, blob bytes included, is as before, and every monitor is byte for byte.
 */
jest.setTimeout(60_000);

const MONITORS = ['eDP-1', 'HDMI-A-1', 'DP-1'];
const GUESTS = [
  { name: 'on-hdmi', xml: guestXml('on-hdmi', '11111111-1111-4111-8111-111111111111', 'HDMI-A-1', '1280x720', 'aaaaaaaa-0000-4000-8000-000000000001') },
  { name: 'on-dp', xml: guestXml('on-dp', '22222222-2222-4222-8222-222222222222', 'DP-1', '1920x1080', 'aaaaaaaa-0000-4000-8000-000000000002') },
];

let rig: FaultRig;
afterEach(() => rig?.stop());

test('every property of every object, blobs by their bytes, is given back exactly after two guests; while shown, theirs are neutral', async () => {
  rig = new FaultRig('sim:gvt-skylake');
  await rig.bus.start();
  const { set, enums } = hostSetsEverything(rig.root, 'gvt-skylake');
  await rig.startDaemon();
  const before: Dump = await dumpOf(rig);
  const shots = await screens(rig, MONITORS);
  const named = (d: Dump, key: string, prop: string) => enums[key]?.[prop]?.[d[key][prop]] ?? d[key][prop];

  // What the compositor set is what the kernel kept (the brief's examples, and every other one).
  expect(named(before, 'connector:HDMI-A-1', 'Broadcast RGB')).toBe('Limited 16:235');
  const kept = Object.entries(set).flatMap(([k, props]) => Object.entries(props).map(([p, v]) => [k, p, before[k]?.[p] === v]));
  expect(kept.filter((x) => !x[2])).toEqual([]);
  const names = new Set(Object.values(set).flatMap((p) => Object.keys(p)));
  for (const p of ['alpha', 'pixel blend mode', 'COLOR_ENCODING', 'COLOR_RANGE', 'GAMMA_LUT', 'DEGAMMA_LUT', 'CTM', 'HDR_OUTPUT_METADATA', 'Colorspace', 'Broadcast RGB', 'max bpc', 'Content Protection']) {
    expect([p, names.has(p)]).toEqual([p, true]);
  }

  for (const g of GUESTS) rig.startGuest(g.name, g.xml);
  const during = await dumpOf(rig);
  for (const g of GUESTS) {
    const planes = (await rowOf(rig, g.name))![2];
    expect(planes.length).toBe(1);
    const [connector, , crtcId, planeId] = planes[0];
    const crtc = `crtc:${crtcId}`;
    const conn = `connector:${connector}`;
    const plane = `plane:${planeId}`;
    expect([g.name, ...['GAMMA_LUT', 'DEGAMMA_LUT', 'CTM'].map((p) => during[crtc][p])]).toEqual([g.name, '0', '0', '0']);
    expect([g.name, ...['Broadcast RGB', 'Colorspace', 'Content Protection'].map((p) => named(during, conn, p))]).toEqual([g.name, 'Automatic', 'Default', 'Undesired']);
    expect([g.name, during[conn]['max bpc'] === '8']).toEqual([g.name, false]);
    if ('HDR_OUTPUT_METADATA' in during[conn]) expect([g.name, during[conn].HDR_OUTPUT_METADATA]).toEqual([g.name, '0']);
    expect([g.name, during[plane].rotation, named(during, plane, 'pixel blend mode')]).toEqual([g.name, '1', 'Pre-multiplied']);
    expect([g.name, during[plane].alpha, named(during, plane, 'COLOR_ENCODING'), named(during, plane, 'COLOR_RANGE')]).toEqual([g.name, '65535', 'ITU-R BT.709 YCbCr', 'YCbCr limited range']);
  }
  // Objects no guest uses keep the host's values meanwhile: eDP-1 is untouched.
  expect(during['connector:eDP-1']).toEqual(before['connector:eDP-1']);

  for (const g of [...GUESTS].reverse()) rig.stopGuest(g.name, g.xml);
  expect(await rig.status()).toEqual([]);
  const after = await dumpOf(rig);
  const changed = Object.keys(before).flatMap((k) => Object.keys(before[k]).filter((p) => after[k]?.[p] !== before[k][p]).map((p) => `${k} ${p}`));
  expect(changed).toEqual([]);
  expect(after).toEqual(before);
  expect(differing(await screens(rig, MONITORS), shots)).toEqual([]);
  rig.expectNoCrash();
});

test('the same exact give-back when the daemon is SIGKILLed while both guests are shown and a new one re-adopts them', async () => {
  rig = new FaultRig('sim:gvt-skylake');
  await rig.bus.start();
  hostSetsEverything(rig.root, 'gvt-skylake');
  await rig.startDaemon();
  const before: Dump = await dumpOf(rig);
  const shots = await screens(rig, MONITORS);
  for (const g of GUESTS) rig.startGuest(g.name, g.xml);
  // The journalled snapshots, blob bytes included, are all the new process has of the host's values.
  await rig.killDaemon();
  await rig.startDaemon();
  // Both come back: the id of one's old fb may by now be the other's new stand-in (the kernel
  // hands out the lowest free id), which must not be taken for the old fb.
  const states = await rig.until(async () => {
    const st = await rig.states();
    return st.length === 2 && st.every(([, x]) => x === 'active') ? st : null;
  });
  expect(states).toEqual([['on-dp', 'active'], ['on-hdmi', 'active']]);
  expect(rig.daemon!.log()).not.toMatch(/could not be re-adopted/);
  for (const g of [...GUESTS].reverse()) rig.stopGuest(g.name, g.xml);
  expect(await rig.status()).toEqual([]);
  const after = await dumpOf(rig);
  expect(Object.keys(before).flatMap((k) => Object.keys(before[k]).filter((p) => after[k]?.[p] !== before[k][p]).map((p) => `${k} ${p}`))).toEqual([]);
  expect(after).toEqual(before);
  expect(differing(await screens(rig, MONITORS), shots)).toEqual([]);
  rig.expectNoCrash();
});
