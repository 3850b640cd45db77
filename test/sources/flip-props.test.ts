import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { Topology } from '../../src/kernel/topology';
import type { AtomicProp, DrmEvent, KmsDevice } from '../../src/kernel/types';
import { planeProps } from '../../src/kms/plane-props';
import type { PlaneShow } from '../../src/kms/plane-props';
import { EventHub, FramePipeline } from '../../src/sources/pipeline';
import { PlaneFlips, canReflectY } from '../../src/sources/plane-props';
import type { Rect } from '../../src/sources/plane-props';
import { ScanoutTarget } from '../../src/sources/scanout-target';

/**
 * The per-frame flip reuses one property array per plane and rewrites it in place (design §5).
 * Every commit it sends must still say exactly what a freshly built planeProps would: across
 * moves and resizes, after reflect-y and back, and after the plane is given up and used again.
 */
let host: Host;
let dev: KmsDevice;
let t: Topology;
let crtc: number;
let overlay: number;
/** vkms as on 6.12: its planes offer reflect-y (plain vkms has no rotation at all). */
function open(profile = 'sim:vkms-6-12'): void {
  host = openHost(profile);
  dev = host.backend.openKms(host.cards()[0]);
  dev.setMaster();
  t = readTopology(dev);
  crtc = t.crtcs[0].id;
  overlay = t.planes.find((p) => p.type === 'overlay')!.id;
}
beforeEach(() => open());
afterEach(() => {
  dev.close();
  host.close();
});

/** A commit as a set: property id → value (the kernel takes them in any order). */
const asMap = (props: AtomicProp[]) => new Map(props.map((p) => [`${p.objectId}/${p.propId}`, p.value]));
const fresh = (s: Omit<PlaneShow, 'crtcId'>) => asMap(planeProps(t, { ...s, crtcId: crtc }));

test('one PlaneFlips says what a fresh planeProps says, frame after frame, through moves, resizes and reflect-y', () => {
  expect(canReflectY(t, overlay)).toBe(true);
  const flips = new PlaneFlips(t, overlay, crtc);
  const shows: [number, Rect, Rect, boolean][] = [
    [11, { x: 0, y: 0, w: 64, h: 64 }, { x: 0, y: 0, w: 64, h: 64 }, false],
    [12, { x: 0, y: 0, w: 64, h: 64 }, { x: 10, y: 20, w: 64, h: 64 }, false],
    [11, { x: 8, y: 4, w: 32, h: 16 }, { x: -5, y: 20, w: 128, h: 32 }, true],
    [12, { x: 8, y: 4, w: 32, h: 16 }, { x: -5, y: 20, w: 128, h: 32 }, false],
    [13, { x: 0, y: 0, w: 64, h: 64 }, { x: 0, y: 0, w: 64, h: 64 }, true],
    [0, { x: 0, y: 0, w: 64, h: 64 }, { x: 0, y: 0, w: 64, h: 64 }, false],
  ];
  let array: AtomicProp[] | null = null;
  for (const [fb, src, dst, reflectY] of shows) {
    const f = flips.showing(fb, src, dst, reflectY);
    expect(f.planeId).toBe(overlay);
    expect(f.fbs).toEqual([fb]);
    expect(asMap(f.props)).toEqual(fresh({ planeId: overlay, fbId: fb, src, dst, reflectY }));
    expect(f.props).toHaveLength(planeProps(t, { planeId: overlay, crtcId: crtc, fbId: fb, src, dst, reflectY }).length);
    // The point of it: the same array every frame, not a new one.
    array ??= f.props;
    expect(f.props).toBe(array);
  }
  // A negative CRTC_X goes as the kernel's s32 in a u64, as a fresh build sends it.
  const crtcX = t.planes.find((p) => p.id === overlay)!.props.CRTC_X.id;
  expect(asMap(flips.showing(1, { x: 0, y: 0, w: 8, h: 8 }, { x: -5, y: 0, w: 8, h: 8 }).props).get(`${overlay}/${crtcX}`)).toBe(BigInt.asUintN(64, -5n));
});

test('a refused show (reflect-y where the plane cannot) leaves the last frame\'s values whole', () => {
  dev.close();
  host.close();
  open('sim:vkms');
  const plain = overlay;
  expect(t.planes.find((p) => p.id === plain)!.props.rotation).toBeUndefined();
  const flips = new PlaneFlips(t, plain, crtc);
  const src = { x: 0, y: 0, w: 64, h: 64 };
  const before = asMap(flips.showing(5, src, src).props);
  expect(() => flips.showing(6, src, { x: 1, y: 1, w: 2, h: 2 }, true)).toThrow(`plane ${plain} cannot reflect-y`);
  expect(asMap(flips.showing(5, src, src).props)).toEqual(before);
});

test('through the pipeline, every commit carries the frame\'s own values: after moves, an off, and a plane given up and claimed again', () => {
  const sent: Map<string, bigint>[] = [];
  let cb: ((ev: DrmEvent[]) => void) | null = null;
  let pending = 0n;
  // The device as is, except that each commit is recorded and its flip lands when the test says.
  const rec = Object.assign(Object.create(dev) as KmsDevice, {
    atomic: (props: AtomicProp[], _flags: number, userData?: bigint) => {
      sent.push(asMap(props));
      pending = userData ?? 0n;
    },
    watchEvents: (c: (ev: DrmEvent[]) => void) => ((cb = c), () => void (cb = null)),
    getPlane: (id: number) => ({ ...dev.getPlane(id), crtcId: crtc }),
  });
  const land = () => cb!([{ type: 2, userData: pending, tvSec: 0, tvUsec: 0, sequence: 0, crtcId: crtc }]);
  const pipeline = new FramePipeline(rec, crtc, new EventHub(rec));
  const assignment = (dst: Rect) => ({ key: 'p', from: 'primary' as const, planeId: overlay, planeType: 'overlay' as const, fbId: 0, src: dst, dst, zpos: null, setZpos: false });
  const owner = { retire: () => undefined, error: (e: Error) => { throw e; } };

  let give = pipeline.own([overlay], owner);
  const a = new ScanoutTarget(rec, t, assignment({ x: 0, y: 0, w: 100, h: 100 }), crtc, pipeline, 'guest');
  a.show(21, 64, 48);
  land();
  a.show(22, 80, 60, true, { x: 4, y: 2 });
  land();
  a.off();
  land();
  give();

  // Given up and claimed again by a new stream with another place and size: nothing of the
  // first (its fb, its reflect-y rotation, its rectangles) rides along.
  give = pipeline.own([overlay], owner);
  const b = new ScanoutTarget(rec, t, assignment({ x: 200, y: 100, w: 320, h: 240 }), crtc, pipeline);
  b.show(31, 160, 120);
  land();
  b.place(32, { x: 0, y: 0, w: 16, h: 16 }, { x: 7, y: 9, w: 16, h: 16 });
  give();
  pipeline.stop();

  const off = sent[2];
  expect(sent).toEqual([
    fresh({ planeId: overlay, fbId: 21, src: { x: 0, y: 0, w: 64, h: 48 }, dst: { x: 0, y: 0, w: 64, h: 48 } }),
    fresh({ planeId: overlay, fbId: 22, src: { x: 4, y: 2, w: 80, h: 60 }, dst: { x: 0, y: 0, w: 80, h: 60 }, reflectY: true }),
    off,
    fresh({ planeId: overlay, fbId: 31, src: { x: 0, y: 0, w: 160, h: 120 }, dst: { x: 200, y: 100, w: 320, h: 240 } }),
    fresh({ planeId: overlay, fbId: 32, src: { x: 0, y: 0, w: 16, h: 16 }, dst: { x: 7, y: 9, w: 16, h: 16 } }),
  ]);
  const ids = t.planes.find((p) => p.id === overlay)!.props;
  expect(off).toEqual(new Map([[`${overlay}/${ids.FB_ID.id}`, 0n], [`${overlay}/${ids.CRTC_ID.id}`, 0n]]));
});
