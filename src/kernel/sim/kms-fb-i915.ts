import { DRM_FORMAT_MOD } from '../constants';
import type { FormatInfo } from '../formats';
import type { AddFb2Args } from '../types';
import type { Gem } from './kms-gem';

type Fail = (code: string, ioctl: string, detail: string) => never;
const I = 'DRM_IOCTL_MODE_ADDFB2';
const TILE_SIZE = 4096;

/**
 * The bytes one tile row spans (intel_tile_width_bytes, display ver 9): X 512, Y 128 (128-byte Y
 * tiling), Yf by cpp; a tile is 4 KiB, so its height is 4096 / that. Linear counts as one row.
 */
function tileWidthBytes(modifier: bigint, cpp: number): number {
  switch (modifier) {
    case DRM_FORMAT_MOD.I915_X_TILED: return 512;
    case DRM_FORMAT_MOD.I915_Y_TILED:
    case DRM_FORMAT_MOD.I915_Y_TILED_CCS: return 128;
    case DRM_FORMAT_MOD.I915_Yf_TILED: return cpp === 1 ? 64 : cpp <= 4 ? 128 : 256;
    default: return TILE_SIZE;
  }
}

/**
 * intel_framebuffer_init() and intel_fill_fb_info() for a Skylake (display ver 9), after the
 * core's framebuffer_check(): one GEM object for every plane, plane 0 at offset 0, the stride
 * within intel_fb_max_stride and aligned to the tile width (linear: 64 bytes, or a page when
 * beyond the plane's own max stride), other planes' offsets on a tile, and a GEM object big
 * enough for whole tile rows (the height rounded up to the tile height: "fb too big for bo").
 * All EINVAL, as the driver answers them.
 */
export function checkI915Fb(a: AddFb2Args, info: FormatInfo, modifier: bigint, gems: Gem[], fail: Fail): void {
  for (let i = 1; i < info.cpp.length; i++) if (a.handles[i] !== a.handles[0]) fail('EINVAL', I, `bad plane ${i} handle (i915 takes one GEM object for all planes)`);
  if ((a.offsets[0] ?? 0) !== 0) fail('EINVAL', I, `plane 0 offset (0x${(a.offsets[0] ?? 0).toString(16)}) must be 0`);
  const linear = modifier === DRM_FORMAT_MOD.LINEAR;
  // intel_fb_max_stride(): 256 KiB from display ver 7 (the engine remaps what the plane cannot take).
  if (a.pitches[0] > 256 * 1024) fail('EINVAL', I, `${linear ? 'linear' : 'tiled'} pitch (${a.pitches[0]}) must be at most ${256 * 1024}`);
  let need = 0;
  for (let i = 0; i < info.cpp.length; i++) {
    const cpp = info.cpp[i];
    const pitch = a.pitches[i];
    const planeMax = Math.min(8192 * cpp, 32768); // skl_plane_max_stride()
    const align = linear ? (pitch > planeMax ? TILE_SIZE : 64) : tileWidthBytes(modifier, cpp);
    if (pitch % align) fail('EINVAL', I, `plane ${i} pitch (${pitch}) must be at least ${align} byte aligned`);
    const offset = a.offsets[i] ?? 0;
    if (!linear && offset % TILE_SIZE) fail('EINVAL', I, `misaligned offset 0x${offset.toString(16)} for color plane ${i}`);
    const h = i === 0 ? a.height : Math.ceil(a.height / info.vsub);
    const tileHeight = linear ? 1 : TILE_SIZE / tileWidthBytes(modifier, cpp);
    need = Math.max(need, offset + pitch * Math.ceil(h / tileHeight) * tileHeight);
  }
  // The size in whole 4 KiB GTT pages.
  need = Math.ceil(need / TILE_SIZE) * TILE_SIZE;
  if (need > gems[0].size) fail('EINVAL', I, `fb too big for bo (need ${need} bytes, have ${gems[0].size} bytes)`);
}
