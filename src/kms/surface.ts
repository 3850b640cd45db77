import { DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import { formatInfo } from '../kernel/formats';
import type { KmsDevice } from '../kernel/types';

/**
 * A framebuffer the CPU writes: a dumb buffer, its ADDFB2 fb, and while needed a shared mapping
 * of its memory. Stand-ins, QEMU's pixel and cursor paths and VFIO region planes are all this.
 */
export interface Surface {
  readonly fb: number;
  readonly handle: number;
  readonly pitch: number;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly format: number;
  /** The buffer's memory while mapped; null once unmapped (or never mapped). */
  map: Buffer | null;
}

export interface SurfaceSpec {
  width: number;
  height: number;
  /** DRM fourcc. One buffer, one plane: ADDFB2 refuses a multi-planar format given one handle. */
  format: number;
  /** Default LINEAR: the only layout the CPU writes through a dumb mapping. */
  modifier?: bigint;
  /** Map it now (default true). */
  map?: boolean;
}

/** Makes a surface; on any failure what was made so far is removed again and the error thrown. */
export function createSurface(dev: KmsDevice, spec: SurfaceSpec): Surface {
  const info = formatInfo(spec.format);
  const d = dev.createDumb(spec.width, spec.height, (info?.cpp[0] ?? 4) * 8);
  let fb = 0;
  try {
    fb = dev.addFb2({
      width: spec.width, height: spec.height, pixelFormat: spec.format, flags: DRM_MODE_FB_MODIFIERS,
      handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [spec.modifier ?? 0n],
    });
    const map = spec.map === false ? null : dev.mmap(dev.mapDumb(d.handle), d.size);
    return { fb, handle: d.handle, pitch: d.pitch, size: d.size, width: spec.width, height: spec.height, format: spec.format, map };
  } catch (e) {
    if (fb) dev.rmFb(fb);
    dev.destroyDumb(d.handle);
    throw e;
  }
}

/**
 * Ends the mapping now. A live mapping holds the DRM file, and with it master and every fb it
 * made, after close(); so whoever is done writing unmaps at once rather than leaving it to GC.
 */
export function unmapSurface(dev: KmsDevice, s: Surface): void {
  const m = s.map;
  s.map = null;
  if (m) dev.munmap(m);
}

/**
 * Unmaps, removes the fb (the kernel takes it off any plane showing it) and frees the buffer.
 * Every step is tried; the first failure is thrown after the rest (at shutdown the fd may already
 * be gone, and the kernel frees everything with it: callers there ignore the error).
 */
export function freeSurface(dev: KmsDevice, s: Surface): void {
  let first: Error | null = null;
  for (const step of [() => unmapSurface(dev, s), () => dev.rmFb(s.fb), () => dev.destroyDumb(s.handle)]) {
    try {
      step();
    } catch (e) {
      first ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  if (first) throw first;
}
