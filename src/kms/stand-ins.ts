import { DRM_MODE_FB_MODIFIERS } from '../kernel/constants';
import { formatInfo } from '../kernel/formats';
import type { KmsDevice } from '../kernel/types';

/**
 * Framebuffers with the guest plane's size, format and modifier, for TEST_ONLY while the guest's
 * own buffers do not exist yet. Everything made here is removed by `cleanup()`.
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
    return fb;
  }

  cleanup(): void {
    for (const fb of this.fbs.splice(0)) this.dev.rmFb(fb);
    for (const h of this.dumbs.splice(0)) this.dev.destroyDumb(h);
  }
}
