import { DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import { formatInfo } from '../kernel/formats';
import type { KmsDevice } from '../kernel/types';

/**
 * Framebuffers with the guest plane's size, format and modifier, for TEST_ONLY while the guest's
 * own buffers do not exist yet, and on screen until the plane's source delivers the guest's first
 * frame: an opaque one shows a quiet striped grey ("waiting for the guest"), one with alpha stays
 * transparent. Everything made here is removed by `cleanup()`.
 */
export class StandIns {
  private readonly fbs: number[] = [];
  private readonly dumbs: number[] = [];

  constructor(private readonly dev: KmsDevice) {}

  create(g: { width: number; height: number; format: number; modifier: bigint }): number {
    const cpp = formatInfo(g.format)?.cpp[0] ?? 4;
    const d = this.dev.createDumb(g.width, g.height, cpp * 8);
    this.dumbs.push(d.handle);
    const fb = this.dev.addFb2({
      width: g.width, height: g.height, pixelFormat: g.format, flags: DRM_MODE_FB_MODIFIERS,
      handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [g.modifier],
    });
    this.fbs.push(fb);
    const info = formatInfo(g.format);
    if (g.modifier === 0n && info && !info.hasAlpha && info.cpp.length === 1 && info.cpp[0] === 4) this.paint(d.handle, d.pitch, d.size, g.width, g.height);
    return fb;
  }

  private paint(handle: number, pitch: number, size: number, width: number, height: number): void {
    const map = this.dev.mmap(this.dev.mapDumb(handle), size);
    // Diagonal stripes repeat every 64 pixels along x + y: one long row, copied at a shift.
    const pattern = Buffer.alloc((width + 64) * 4);
    for (let p = 0; p < width + 64; p++) pattern.fill((p >> 5) & 1 ? 0x38 : 0x30, p * 4, p * 4 + 3);
    for (let y = 0; y < height; y++) pattern.copy(map, y * pitch, (y % 64) * 4, (y % 64 + width) * 4);
    // Unmapped at once: a mapping left to GC would keep the card's file, and master, after close.
    this.dev.munmap(map);
  }

  cleanup(): void {
    for (const fb of this.fbs.splice(0)) this.dev.rmFb(fb);
    for (const h of this.dumbs.splice(0)) this.dev.destroyDumb(h);
  }
}
