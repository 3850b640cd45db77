import { formatInfo } from '../kernel/formats';
import type { KmsDevice } from '../kernel/types';
import { createSurface, freeSurface, unmapSurface } from './surface';
import type { Surface } from './surface';

/**
 * Framebuffers with the guest plane's size, format and modifier, for TEST_ONLY while the guest's
 * own buffers do not exist yet, and on screen until the plane's source delivers the guest's first
 * frame: an opaque one shows a quiet striped grey ("waiting for the guest"), one with alpha stays
 * transparent. Everything made here is removed by `cleanup()`.
 */
export class StandIns {
  private readonly surfaces: Surface[] = [];

  constructor(private readonly dev: KmsDevice) {}

  create(g: { width: number; height: number; format: number; modifier: bigint }): number {
    const info = formatInfo(g.format);
    const paint = g.modifier === 0n && !!info && !info.hasAlpha && info.cpp.length === 1 && info.cpp[0] === 4;
    const s = createSurface(this.dev, { ...g, map: paint });
    this.surfaces.push(s);
    if (paint) {
      stripes(s);
      unmapSurface(this.dev, s);
    }
    return s.fb;
  }

  cleanup(): void {
    let first: Error | null = null;
    for (const s of this.surfaces.splice(0)) {
      try {
        freeSurface(this.dev, s);
      } catch (e) {
        first ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    if (first !== null) throw first;
  }
}

/** Diagonal stripes repeating every 64 pixels along x + y: one long row, copied at a shift. */
function stripes(s: Surface): void {
  const map = s.map!;
  const pattern = Buffer.alloc((s.width + 64) * 4);
  for (let p = 0; p < s.width + 64; p++) pattern.fill((p >> 5) & 1 ? 0x38 : 0x30, p * 4, p * 4 + 3);
  for (let y = 0; y < s.height; y++) pattern.copy(map, y * s.pitch, (y % 64) * 4, (y % 64 + s.width) * 4);
}
