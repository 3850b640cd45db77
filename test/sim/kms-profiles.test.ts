import { decodeInFormats, encodeModeInfo } from '../../src/kernel/blobs';
import { DRM_CAP, DRM_FORMAT, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS } from '../../src/kernel/constants';
import { readTopology } from '../../src/kernel/topology';
import type { AtomicProp } from '../../src/kernel/types';
import { errOf } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

/** The host profiles as the drivers they copy expose themselves (vkms 6.1, i915 gen9). */

const { TEST_ONLY, ALLOW_MODESET } = DRM_MODE_ATOMIC;
const F = DRM_FORMAT;

test('vkms 6.1: primary XR24/XR48/RG16 (vkms_formats), overlays and cursor add alpha (vkms_plane_formats), LINEAR only, no zpos', () => {
  const { f, dev } = simKms('vkms');
  const byType = (type: string) => f.t.planes.filter((p) => p.type === type);
  expect(byType('primary')[0].formats).toEqual([F.XRGB8888, fourcc16('XR48'), F.RGB565]);
  for (const p of [...byType('overlay'), ...byType('cursor')]) expect(p.formats).toEqual([F.ARGB8888, F.XRGB8888, fourcc16('XR48'), fourcc16('AR48'), F.RGB565]);
  for (const p of f.t.planes) {
    expect(p.zpos).toBeNull();
    expect(new Set([...p.modifiers.values()].flat())).toEqual(new Set([0n]));
  }
  expect([dev.getCap(DRM_CAP.CURSOR_WIDTH), dev.getCap(DRM_CAP.CURSOR_HEIGHT)]).toEqual([512n, 512n]);
});

test('gvt-skylake: zpos immutable per plane (primary 0, sprites 1-3, cursor 4), tiled modifiers parsed from the IN_FORMATS bytes', () => {
  const { f, dev } = simKms('gvt-skylake');
  const pipeA = f.t.planes.filter((p) => p.possibleCrtcs.includes(f.t.crtcs[0].id));
  expect(pipeA.map((p) => [p.type, p.zpos!.value, p.zpos!.immutable])).toEqual([
    ['primary', 0, true], ['overlay', 1, true], ['overlay', 2, true], ['overlay', 3, true], ['cursor', 4, true],
  ]);
  const raw = dev.getPropBlob(Number(pipeA[0].props.IN_FORMATS.value));
  expect(raw.readUInt32LE(0)).toBe(1); // FORMAT_BLOB_CURRENT
  expect(decodeInFormats(raw)).toEqual(pipeA[0].modifiers);
  expect(pipeA[0].modifiers.get(F.XRGB8888)).toEqual([0n, (1n << 56n) | 1n, (1n << 56n) | 2n, (1n << 56n) | 3n]);
  expect(pipeA[4].modifiers.get(F.ARGB8888)).toEqual([0n]);
});

test('an ARGB8888 fb is refused on the vkms primary and taken by an overlay', () => {
  const { dev, f } = simKms('vkms');
  const { fb } = f.makeFb(f.mode.hdisplay, f.mode.vdisplay, F.ARGB8888);
  const full = (plane: typeof f.primary) => f.planeProps(plane, fb, f.mode.hdisplay, f.mode.vdisplay);
  expect(errOf(() => dev.atomic(full(f.primary), TEST_ONLY)).code).toBe('EINVAL');
  expect(() => dev.atomic(full(f.overlay!), TEST_ONLY)).not.toThrow();
});

test('vkms has no cursor size check of its own; i915 refuses a cursor over 256x256', () => {
  const v = simKms('vkms');
  const cursor = v.f.t.planes.find((p) => p.type === 'cursor')!;
  const big = v.f.makeFb(300, 200, F.ARGB8888).fb;
  expect(() => v.dev.atomic(v.f.planeProps(cursor, big, 300, 200), TEST_ONLY)).not.toThrow();
  const g = simKms('gvt-skylake');
  const gc = g.f.t.planes.find((p) => p.type === 'cursor' && p.possibleCrtcs.includes(g.f.crtc.id))!;
  expect(errOf(() => g.dev.atomic(g.f.planeProps(gc, g.f.makeFb(300, 200, F.ARGB8888).fb, 300, 200), TEST_ONLY)).code).toBe('EINVAL');
});

test('vkms refuses fbs below its 20x20 minimum (mode_config.min_width/height)', () => {
  const { dev } = simKms('vkms');
  const d = dev.createDumb(16, 16, 32);
  const e = errOf(() => dev.addFb2({ width: 16, height: 16, pixelFormat: F.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] }));
  expect(e.code).toBe('EINVAL');
});

test('connector properties as __drm_connector_init attaches them: no EDID on Virtual or Writeback', () => {
  const v = readTopology(simKms('vkms').dev);
  const [virt, wb] = v.connectors;
  expect(Object.keys(virt.props)).toEqual(['DPMS', 'link-status', 'non-desktop', 'TILE', 'CRTC_ID']);
  expect(Object.keys(wb.props)).toEqual(['DPMS', 'link-status', 'non-desktop', 'TILE', 'CRTC_ID', 'WRITEBACK_OUT_FENCE_PTR', 'WRITEBACK_FB_ID', 'WRITEBACK_PIXEL_FORMATS']);
  const g = simKms('gvt-skylake');
  const hdmi = g.f.t.connectors.find((c) => c.name === 'HDMI-A-1')!;
  // The core's, in __drm_connector_init's order, then i915's own (intel_hdmi_add_properties).
  expect(Object.keys(hdmi.props)).toEqual(['EDID', 'DPMS', 'link-status', 'non-desktop', 'TILE', 'CRTC_ID', 'Broadcast RGB', 'max bpc', 'Colorspace', 'Content Protection']);
  const edid = g.dev.getPropBlob(Number(hdmi.props.EDID.value));
  expect(edid.subarray(0, 8)).toEqual(Buffer.from([0, 255, 255, 255, 255, 255, 255, 0]));
  expect(edid.reduce((a, b) => a + b, 0) % 256).toBe(0);
});

test('two displays on one i915 CRTC is an invalid cloning configuration (EINVAL); each encoder clones only itself', () => {
  const { dev, f } = simKms('gvt-skylake');
  const edp = f.t.connectors.find((c) => c.name === 'eDP-1')!;
  const hdmi = f.t.connectors.find((c) => c.name === 'HDMI-A-1')!;
  const props: AtomicProp[] = [{ objectId: hdmi.id, propId: hdmi.props.CRTC_ID.id, value: BigInt(edp.crtcId) }];
  // HDMI also leaves pipe B, so B goes too: the refusal must be the cloning one, not B's.
  const crtcB = f.t.crtcs.find((c) => c.id === hdmi.crtcId)!;
  props.push({ objectId: crtcB.id, propId: crtcB.props.ACTIVE.id, value: 0n }, { objectId: crtcB.id, propId: crtcB.props.MODE_ID.id, value: 0n });
  for (const pl of f.t.planes.filter((x) => x.crtcId === crtcB.id)) {
    props.push({ objectId: pl.id, propId: pl.props.FB_ID.id, value: 0n }, { objectId: pl.id, propId: pl.props.CRTC_ID.id, value: 0n });
  }
  const e = errOf(() => dev.atomic(props, TEST_ONLY | ALLOW_MODESET));
  expect(e.code).toBe('EINVAL');
  expect(e.message).toMatch(/cloning/);
  // Moving HDMI to the free pipe C instead is fine.
  const crtcC = f.t.crtcs.find((c) => !c.active)!;
  const move = props.map((p) => (p.objectId === hdmi.id ? { ...p, value: BigInt(crtcC.id) } : p));
  const mode = dev.createPropBlob(encodeModeInfo(hdmi.modes[0]));
  move.push({ objectId: crtcC.id, propId: crtcC.props.ACTIVE.id, value: 1n }, { objectId: crtcC.id, propId: crtcC.props.MODE_ID.id, value: BigInt(mode) });
  expect(() => dev.atomic(move, TEST_ONLY | ALLOW_MODESET)).not.toThrow();
  f.t.encoders.forEach((enc, i) => expect(dev.getEncoder(enc.id).possibleClones).toBe(1 << i));
});

test('fence properties: IN_FENCE_FD must be a sync_file; a writeback out-fence needs a writeback fb', () => {
  const { dev, f } = simKms('vkms');
  const { fb } = f.makeFb();
  const props = [...f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), { objectId: f.primary.id, propId: f.primary.props.IN_FENCE_FD.id, value: 5n }];
  expect(errOf(() => dev.atomic(props, TEST_ONLY)).code).toBe('EINVAL');
  const wb = f.t.connectors.find((c) => c.writeback)!;
  const fence = [
    { objectId: wb.id, propId: wb.props.CRTC_ID.id, value: BigInt(f.crtc.id) },
    { objectId: wb.id, propId: wb.props.WRITEBACK_OUT_FENCE_PTR.id, value: 0x7fff0000n },
  ];
  expect(errOf(() => dev.atomic(fence, TEST_ONLY | ALLOW_MODESET)).code).toBe('EINVAL');
});

test('writeback into an RGB565 fb stores the CRTC picture as 5:6:5', () => {
  const { dev, f } = simKms('vkms');
  const w = f.mode.hdisplay;
  const h = f.mode.vdisplay;
  const bg = f.makeFb();
  dev.mmap(dev.mapDumb(bg.dumb.handle), bg.dumb.size).fill(Buffer.from([0x40, 0x80, 0xff, 0xff])); // B G R X
  const d = dev.createDumb(w, h, 16);
  const out = dev.addFb2({ width: w, height: h, pixelFormat: F.RGB565, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
  const wb = f.t.connectors.find((c) => c.writeback)!;
  dev.atomic([
    ...f.planeProps(f.primary, bg.fb, w, h),
    { objectId: wb.id, propId: wb.props.CRTC_ID.id, value: BigInt(f.crtc.id) },
    { objectId: wb.id, propId: wb.props.WRITEBACK_FB_ID.id, value: BigInt(out) },
  ], ALLOW_MODESET);
  const px = dev.mmap(dev.mapDumb(d.handle), d.size).readUInt16LE(d.pitch * 7 + 2 * 9);
  expect(px).toBe((0xff >> 3) << 11 | (0x80 >> 2) << 5 | (0x40 >> 3));
});

function fourcc16(name: string): number {
  return (name.charCodeAt(0) | (name.charCodeAt(1) << 8) | (name.charCodeAt(2) << 16) | (name.charCodeAt(3) << 24)) >>> 0;
}

test('i915 gen9 shares two plane scalers on pipes A and B: a third scaled sprite is EINVAL', () => {
  const { dev, f } = simKms('gvt-skylake');
  const sprites = f.t.planes.filter((p) => p.type === 'overlay' && p.possibleCrtcs.includes(f.crtc.id));
  const { fb } = f.makeFb(320, 240);
  const scaled = (plane: (typeof sprites)[number], x: number) => f.planeProps(plane, fb, 320, 240, x, 0).map((p) =>
    p.propId === plane.props.CRTC_W.id ? { ...p, value: 640n } : p.propId === plane.props.CRTC_H.id ? { ...p, value: 480n } : p);
  expect(() => dev.atomic([...scaled(sprites[0], 0), ...scaled(sprites[1], 640)], TEST_ONLY)).not.toThrow();
  const e = errOf(() => dev.atomic([...scaled(sprites[0], 0), ...scaled(sprites[1], 640), ...scaled(sprites[2], 1280)], TEST_ONLY));
  expect(e.code).toBe('EINVAL');
  expect(e.message).toMatch(/scaling requests 3 > 2/);
  // An invisible plane detaches from its scaler (skl_update_scaler_plane: force_detach).
  expect(() => dev.atomic([...scaled(sprites[0], 0), ...scaled(sprites[1], 640), ...scaled(sprites[2], f.mode.hdisplay)], TEST_ONLY)).not.toThrow();
  // Unscaled, all three sprites fit.
  expect(() => dev.atomic([...f.planeProps(sprites[0], fb, 320, 240), ...f.planeProps(sprites[1], fb, 320, 240, 400), ...f.planeProps(sprites[2], fb, 320, 240, 800)], TEST_ONLY)).not.toThrow();
});

test('a MODE_ID blob whose timings are not a mode is EINVAL (drm_mode_validate_basic)', () => {
  const { dev, f } = simKms('vkms');
  const bad = { ...f.mode, hsyncStart: f.mode.hdisplay - 1 };
  const blob = dev.createPropBlob(encodeModeInfo(bad));
  const e = errOf(() => dev.atomic([{ objectId: f.crtc.id, propId: f.crtc.props.MODE_ID.id, value: BigInt(blob) }], TEST_ONLY | ALLOW_MODESET));
  expect(e.code).toBe('EINVAL');
  expect(e.message).toMatch(/horizontal/);
});

test('the i915 cursor: widths 64/128/256, heights 8 up to the width, stride = width, no panning (i9xx_check_cursor)', () => {
  const { dev, f } = simKms('gvt-skylake');
  const cursor = f.t.planes.find((p) => p.type === 'cursor' && p.possibleCrtcs.includes(f.crtc.id))!;
  const ok = (w: number, h: number) => dev.atomic(f.planeProps(cursor, f.makeFb(w, h, F.ARGB8888).fb, w, h), TEST_ONLY);
  expect(() => ok(64, 64)).not.toThrow();
  expect(() => ok(64, 32)).not.toThrow();
  expect(() => ok(256, 8)).not.toThrow();
  expect(errOf(() => ok(64, 4)).code).toBe('EINVAL');
  expect(errOf(() => ok(64, 128)).code).toBe('EINVAL');
  expect(errOf(() => ok(96, 96)).code).toBe('EINVAL');
  const wide = f.makeFb(128, 64, F.ARGB8888).fb; // pitch 512: too wide a stride for a 64-wide cursor
  expect(errOf(() => dev.atomic(f.planeProps(cursor, wide, 64, 64), TEST_ONLY)).message).toMatch(/stride/);
  const pan = f.planeProps(cursor, f.makeFb(64, 64, F.ARGB8888).fb, 64, 64).map((p) => (p.propId === cursor.props.SRC_X.id ? { ...p, value: 0n } : p));
  expect(() => dev.atomic(pan, TEST_ONLY)).not.toThrow();
  const src = f.makeFb(64, 72, F.ARGB8888).fb;
  const panned = f.planeProps(cursor, src, 64, 64).map((p) => (p.propId === cursor.props.SRC_Y.id ? { ...p, value: 8n << 16n } : p));
  expect(errOf(() => dev.atomic(panned, TEST_ONLY)).message).toMatch(/panning/);
});

test('vkms 6.1 modes are drm_add_modes_noedid() up to 8192x8192 and <= 61 Hz, sorted; Writeback-1, never probed, is unknown with none', () => {
  const t = readTopology(simKms('vkms').dev);
  const [virt, wb] = t.connectors;
  const line = (m: (typeof virt.modes)[number]) => `${m.name} ${m.clock} ${m.htotal} ${m.vtotal} 0x${m.flags.toString(16)} 0x${m.type.toString(16)}`;
  // fbdev probes Virtual-1 at boot; nothing probes a writeback connector unless a master forces
  // it with count_modes=0, which directflip never does (drm_client skips writeback connectors).
  expect([virt.status, virt.modes.length, wb.status, wb.modes.length]).toEqual(['connected', 34, 'unknown', 0]);
  // drm_set_preferred_mode(1024, 768) puts it first on Virtual-1 only; the rest sort by area, refresh, clock.
  expect(line(virt.modes[0])).toBe('1024x768 65000 1344 806 0xa 0x48');
  expect(virt.preferredMode?.name).toBe('1024x768');
  expect(wb.preferredMode).toBeNull();
  // DMT 0x52 is -hsync -vsync; 1680x1050 comes in both the standard and the reduced-blanking timing.
  expect(virt.modes.filter((m) => m.name === '1920x1080').map(line)).toEqual(['1920x1080 148500 2200 1125 0xa 0x40']);
  expect(virt.modes.filter((m) => m.name === '1680x1050').map(line)).toEqual(['1680x1050 146250 2240 1089 0x6 0x40', '1680x1050 119000 1840 1080 0x9 0x40']);
  expect(virt.modes.every((m) => m.vrefresh <= 61)).toBe(true);
  expect(wb.props.WRITEBACK_PIXEL_FORMATS.flags).toBe(0x80000014); // BLOB | IMMUTABLE | ATOMIC
});
