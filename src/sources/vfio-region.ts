import { DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import type { GfxPlaneInfo, KmsDevice, VfioDevice } from '../kernel/types';
import type { FramePipeline } from './pipeline';

interface Surface {
  fb: number;
  handle: number;
  pitch: number;
  map: Buffer;
}

/** 32-bit formats only: what mdpy-like devices scan out (XR24, AR24, XB24, AB24). */
const FOURCC_32BPP = new Set([0x34325258, 0x34325241, 0x34324258, 0x34324241]);

/**
 * A REGION plane (the guest's framebuffer in device memory, as mdpy offers it): each vblank the
 * whole plane is read and copied into a free dumb buffer, then flipped. The device tells
 * nothing about damage, so every frame costs the whole plane; dma-buf devices avoid this.
 */
export class RegionCopier {
  private surfaces: Surface[] = [];
  private shape = '';
  /** Region offsets by index: fixed for the device's life, so asked once, not per frame. */
  private readonly offsets = new Map<number, bigint>();

  constructor(
    private readonly dev: KmsDevice,
    private readonly device: VfioDevice,
  ) {}

  private allocate(q: GfxPlaneInfo): void {
    this.free();
    for (let i = 0; i < 2; i++) {
      const d = this.dev.createDumb(q.width, q.height, 32);
      const fb = this.dev.addFb2({ width: q.width, height: q.height, pixelFormat: q.drmFormat, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
      this.surfaces.push({ fb, handle: d.handle, pitch: d.pitch, map: this.dev.mmap(this.dev.mapDumb(d.handle), d.size) });
    }
  }

  /** Copies the plane `q` describes into a free buffer; its fb, or null while both are busy. */
  copy(q: GfxPlaneInfo, pipeline: FramePipeline, planeId: number): number | null {
    if (!FOURCC_32BPP.has(q.drmFormat) || q.drmFormatMod !== 0n) throw new Error(`region plane format 0x${q.drmFormat.toString(16)} (modifier 0x${q.drmFormatMod.toString(16)}) is not a linear 32-bit format`);
    if (q.stride < q.width * 4 || q.size < (q.height - 1) * q.stride + q.width * 4) throw new Error(`region plane ${q.width}x${q.height} stride ${q.stride} size ${q.size} is inconsistent`);
    const shape = `${q.width}x${q.height}:${q.drmFormat}`;
    if (shape !== this.shape) {
      this.allocate(q);
      this.shape = shape;
    }
    const s = this.surfaces.find((x) => !pipeline.busy(x.fb));
    if (!s) return null;
    let offset = this.offsets.get(q.regionIndex);
    if (offset === undefined) this.offsets.set(q.regionIndex, (offset = this.device.getRegionInfo(q.regionIndex).offset));
    const data = this.device.regionRead(offset, q.size);
    for (let y = 0; y < q.height; y++) data.copy(s.map, y * s.pitch, y * q.stride, y * q.stride + q.width * 4);
    pipeline.plane(planeId).bytesCopied += q.width * q.height * 4;
    return s.fb;
  }

  owns(fb: number): boolean {
    return this.surfaces.some((s) => s.fb === fb);
  }

  free(): void {
    for (const s of this.surfaces.splice(0)) {
      try {
        // First: a live mapping would keep the DRM file, and master, after close.
        this.dev.munmap(s.map);
        this.dev.rmFb(s.fb);
        this.dev.destroyDumb(s.handle);
      } catch {
        // the fd may be gone at shutdown; the kernel frees them then
      }
    }
    this.shape = '';
  }
}
