import { DRM_FORMAT, DRM_FORMAT_MOD } from '../../src/kernel/constants';
import { dumpProperties, planeSupports, readTopology, topologyToJSON } from '../../src/kernel/topology';
import { simHost, simKms } from '../helpers/sim';

/** What the planner reads: the snapshot must say everything, in a form that survives JSON. */

test('gvt-skylake boot state: eDP-1 on pipe A, HDMI-A-1 on pipe B, DP-1 connected and idle', () => {
  const { f } = simKms('gvt-skylake');
  const t = f.t;
  const [a, b, c] = t.crtcs;
  expect(t.crtcs.map((x) => [x.index, x.active])).toEqual([[0, true], [1, true], [2, false]]);
  const byName = Object.fromEntries(t.connectors.map((x) => [x.name, x]));
  expect(byName['eDP-1'].crtcId).toBe(a.id);
  expect(byName['HDMI-A-1'].crtcId).toBe(b.id);
  expect([byName['DP-1'].crtcId, byName['DP-1'].status]).toEqual([0, 'connected']);
  for (const conn of t.connectors) {
    expect(conn.possibleCrtcsMask).toBe(0b111);
    expect(conn.possibleCrtcs).toEqual([a.id, b.id, c.id]);
  }
  expect(a.mode && [a.mode.hdisplay, a.mode.vdisplay, a.mode.vrefresh]).toEqual([1920, 1080, 60]);
  expect(byName['HDMI-A-1'].preferredMode?.name).toBe('1920x1080');
  const primaryA = t.planes.find((p) => p.type === 'primary' && p.possibleCrtcsMask === 1)!;
  expect([primaryA.crtcId, primaryA.fbId === a.fbId, primaryA.dst]).toEqual([a.id, true, { x: 0, y: 0, w: 1920, h: 1080 }]);
  expect(t.planes.filter((p) => p.crtcId === c.id)).toEqual([]);
  expect(t.addfb2Modifiers).toBe(true);
  expect(t.cursor).toEqual({ width: 256, height: 256 });
});

test('a plane blends by zpos where the driver has one, else by creation order', () => {
  const g = simKms('gvt-skylake').f.t;
  expect(g.planes.filter((p) => p.possibleCrtcsMask === 2).map((p) => p.stack)).toEqual([0, 1, 2, 3, 4]);
  const v = simKms('vkms').f.t;
  expect(v.planes.map((p) => p.stack)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(v.planes[0].type).toBe('primary');
  expect(v.planes[9].type).toBe('cursor');
});

test('planeSupports answers from IN_FORMATS', () => {
  const t = simKms('gvt-skylake').f.t;
  const primary = t.planes.find((p) => p.type === 'primary')!;
  const cursor = t.planes.find((p) => p.type === 'cursor')!;
  expect(planeSupports(primary, DRM_FORMAT.XRGB8888, DRM_FORMAT_MOD.I915_Y_TILED)).toBe(true);
  expect(planeSupports(primary, DRM_FORMAT.C8, DRM_FORMAT_MOD.I915_X_TILED)).toBe(false);
  expect(planeSupports(primary, DRM_FORMAT.NV12, DRM_FORMAT_MOD.LINEAR)).toBe(false);
  expect(planeSupports(cursor, DRM_FORMAT.ARGB8888, DRM_FORMAT_MOD.I915_X_TILED)).toBe(false);
});

test('topologyToJSON keeps every property value exactly and lists modifiers by name', () => {
  const { f } = simKms('gvt-skylake');
  const j = JSON.parse(JSON.stringify(topologyToJSON(f.t))) as {
    planes: { id: number; modifiers: Record<string, string[]>; props: Record<string, { value: string }> }[];
  };
  const p = j.planes[0];
  expect(p.modifiers.XR24).toEqual(['LINEAR', 'I915_X_TILED', 'I915_Y_TILED', 'I915_Yf_TILED']);
  expect(p.modifiers.C8).toEqual(['LINEAR']);
  expect(p.props.IN_FENCE_FD.value).toBe(BigInt.asUintN(64, -1n).toString());
  expect(BigInt(p.props.FB_ID.value)).toBe(f.t.planes[0].props.FB_ID.value);
});

test('a file that is not master reads the same topology and property dump', () => {
  const host = simHost('vkms');
  const master = host.openKms('/dev/dri/card0');
  const other = host.openKms('/dev/dri/card0');
  expect(dumpProperties(other)).toEqual(dumpProperties(master));
  expect(readTopology(other).planes).toHaveLength(10);
});

test('hotplug: an unplugged connector reads disconnected with no modes', () => {
  const { dev, host } = simKms('gvt-skylake');
  host.card.hotplug('DP-1', false);
  const dp = readTopology(dev).connectors.find((c) => c.name === 'DP-1')!;
  expect([dp.status, dp.modes.length, dp.preferredMode]).toEqual(['disconnected', 0, null]);
  host.card.hotplug('DP-1', true);
  expect(readTopology(dev).connectors.find((c) => c.name === 'DP-1')!.modes.length).toBeGreaterThan(0);
});

test('object ids are unique across every object type, as one idr hands them out', () => {
  const { f, dev } = simKms('gvt-skylake');
  const ids = [
    ...f.t.crtcs.map((c) => c.id), ...f.t.connectors.map((c) => c.id), ...f.t.encoders.map((e) => e.id), ...f.t.planes.map((p) => p.id),
    ...new Set([...f.t.crtcs, ...f.t.connectors, ...f.t.planes].flatMap((o) => Object.values(o.props).map((p) => p.id))),
    ...dev.getResources().fbs,
  ];
  expect(new Set(ids).size).toBe(ids.length);
});

test('GETPROPERTY gives flags as the __u32 and range bounds as the __u64 the ioctl carries; readTopology reads signed ranges as signed', () => {
  for (const name of ['vkms', 'gvt-skylake']) {
    const { dev, f } = simKms(name);
    const all = [...f.t.connectors, ...f.t.crtcs, ...f.t.planes].flatMap((o) => Object.values(o.props));
    for (const p of all) {
      const g = dev.getProperty(p.id);
      expect([p.name, g.flags >= 0 && g.flags <= 0xffffffff && Number.isInteger(g.flags)]).toEqual([p.name, true]);
      for (const v of g.values) expect([p.name, v >= 0n && v <= 0xffffffffffffffffn]).toEqual([p.name, true]);
    }
    const plane = f.t.planes[0];
    const raw = (n: string) => dev.getProperty(plane.props[n].id);
    expect(raw('FB_ID').flags).toBe(0x80000040); // ATOMIC | OBJECT
    expect(raw('CRTC_X').flags).toBe(0x80000080); // ATOMIC | SIGNED_RANGE
    expect(raw('CRTC_X').values).toEqual([BigInt.asUintN(64, -0x80000000n), 0x7fffffffn]);
    expect(raw('IN_FENCE_FD').values).toEqual([0xffffffffffffffffn, 0x7fffffffn]);
    expect(plane.props.CRTC_X.range).toEqual([-0x80000000n, 0x7fffffffn]);
    expect(plane.props.CRTC_Y.range).toEqual([-0x80000000n, 0x7fffffffn]);
    expect(plane.props.IN_FENCE_FD.range).toEqual([-1n, 0x7fffffffn]);
    expect(plane.props.SRC_W.range).toEqual([0n, 0xffffffffn]);
    // The value stays the raw __u64.
    expect(plane.props.IN_FENCE_FD.value).toBe(0xffffffffffffffffn);
  }
});
