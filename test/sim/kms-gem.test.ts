import { DRM_FORMAT } from '../../src/kernel/constants';
import type { SimKmsFile } from '../../src/kernel/sim/kms-file';
import { errOf } from '../contract/kms.contract';
import { nv12Host } from '../helpers/nv12-host';
import { simKms } from '../helpers/sim';

/** GEM handles per file, as drm_gem.c keeps them in each file's object_idr. */

test('GETFB2 makes a new handle per call and per distinct object, counted per file; GEM_CLOSE gives it back', () => {
  const { host, dev, f } = simKms('vkms');
  const file = dev as SimKmsFile;
  const { fb } = f.makeFb(64, 64);
  const base = file.gemCount;
  const handles = Array.from({ length: 5 }, () => dev.getFb2(fb).handles);
  expect(handles.map((h) => h[0])).toEqual([2, 3, 4, 5, 6]); // 1 is the dumb buffer
  expect(handles.every((h) => h.slice(1).every((x) => x === 0))).toBe(true);
  expect(file.gemCount).toBe(base + 5);
  const other = host.openKms(host.profile.kms.devPath) as SimKmsFile;
  expect(other.gemCount).toBe(0); // handles are the file's own
  for (const h of handles) dev.gemClose(h[0]);
  expect(file.gemCount).toBe(base);
  expect(errOf(() => dev.gemClose(handles[0][0])).code).toBe('EINVAL');
  // The handle opens the same object: it maps and shows the fb's memory.
  const h = dev.getFb2(f.crtc.fbId).handles[0];
  expect(h).toBe(2);
  expect(errOf(() => dev.mapDumb(h)).code).toBe('EINVAL'); // fbcon's object is no dumb buffer of ours
  other.close();
});

test('a file that is neither master nor CAP_SYS_ADMIN gets the layout with zero handles', () => {
  const { host, f } = simKms('vkms');
  const { fb } = f.makeFb(32, 32);
  host.card.capSysAdmin = false;
  const other = host.openKms(host.profile.kms.devPath) as SimKmsFile;
  const info = other.getFb2(fb);
  expect(info.handles).toEqual([0]);
  expect(info.pitches[0]).toBeGreaterThanOrEqual(128);
  expect(other.gemCount).toBe(0);
});

test('a two-plane fb on one object gets one handle for both planes', () => {
  // Skylake's i915 lists no planar format (Display WA #0870), so a card that has NV12.
  const host = nv12Host();
  const dev = host.openKms(host.profile.kms.devPath);
  const file = dev as SimKmsFile;
  const d = dev.createDumb(64, 96, 8); // NV12 64x64: Y plane 64x64, UV plane 64x32 after it
  const fb = dev.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.NV12, flags: 0, handles: [d.handle, d.handle], pitches: [d.pitch, d.pitch], offsets: [0, d.pitch * 64], modifiers: [0n, 0n] });
  const before = file.gemCount;
  const info = dev.getFb2(fb);
  expect(info.handles[0]).toBeGreaterThan(0);
  expect(info.handles[1]).toBe(info.handles[0]);
  expect(file.gemCount).toBe(before + 1);
  host.stop();
});
