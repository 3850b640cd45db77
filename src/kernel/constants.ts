/** Numbers from linux/drm.h, drm_mode.h, drm_fourcc.h and vfio.h that the layers above use. */

export const DRM_CAP = {
  DUMB_BUFFER: 0x1,
  PRIME: 0x5,
  CURSOR_WIDTH: 0x8,
  CURSOR_HEIGHT: 0x9,
  ADDFB2_MODIFIERS: 0x10,
  CRTC_IN_VBLANK_EVENT: 0x12,
} as const;

export const DRM_PRIME_CAP = { IMPORT: 0x1, EXPORT: 0x2 } as const;

export const DRM_CLIENT_CAP = {
  STEREO_3D: 1,
  UNIVERSAL_PLANES: 2,
  ATOMIC: 3,
  ASPECT_RATIO: 4,
  WRITEBACK_CONNECTORS: 5,
} as const;

export const DRM_MODE_OBJECT = {
  CRTC: 0xcccccccc,
  CONNECTOR: 0xc0c0c0c0,
  ENCODER: 0xe0e0e0e0,
  MODE: 0xdededede,
  PROPERTY: 0xb0b0b0b0,
  FB: 0xfbfbfbfb,
  BLOB: 0xbbbbbbbb,
  PLANE: 0xeeeeeeee,
  ANY: 0,
} as const;

export const DRM_MODE_ATOMIC = {
  PAGE_FLIP_EVENT: 0x01,
  PAGE_FLIP_ASYNC: 0x02,
  TEST_ONLY: 0x0100,
  NONBLOCK: 0x0200,
  ALLOW_MODESET: 0x0400,
} as const;

export const DRM_MODE_PROP = {
  PENDING: 1 << 0,
  RANGE: 1 << 1,
  IMMUTABLE: 1 << 2,
  ENUM: 1 << 3,
  BLOB: 1 << 4,
  BITMASK: 1 << 5,
  OBJECT: 1 << 6 /* extended type 1 */,
  SIGNED_RANGE: 2 << 6,
  EXTENDED_TYPE: 0x0000ffc0,
  ATOMIC: 0x80000000,
} as const;

export const DRM_PLANE_TYPE = { OVERLAY: 0, PRIMARY: 1, CURSOR: 2 } as const;

export const DRM_MODE_CONNECTED = { CONNECTED: 1, DISCONNECTED: 2, UNKNOWN: 3 } as const;

/** DRM_MODE_CONNECTOR_* → the name the kernel uses in sysfs and drm_info (`HDMI-A-1`). */
export { DRM_CONNECTOR_TYPE_NAMES } from '../util/connector-types';

export const DRM_MODE_FB_MODIFIERS = 1 << 1;
export const DRM_CLOEXEC = 0o2000000;
export const DRM_RDWR = 0o2;

export const DRM_EVENT = { VBLANK: 0x01, FLIP_COMPLETE: 0x02, CRTC_SEQUENCE: 0x03 } as const;

/** fourcc('X','R','2','4') etc. */
export function fourcc(s: string): number {
  if (s.length !== 4) throw new TypeError(`fourcc needs 4 characters: ${s}`);
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

export function fourccName(f: number): string {
  return String.fromCharCode(f & 0xff, (f >> 8) & 0xff, (f >> 16) & 0xff, (f >>> 24) & 0xff);
}

export const DRM_FORMAT = {
  C8: fourcc('C8  '),
  RGB565: fourcc('RG16'),
  XRGB8888: fourcc('XR24'),
  ARGB8888: fourcc('AR24'),
  XBGR8888: fourcc('XB24'),
  ABGR8888: fourcc('AB24'),
  XRGB2101010: fourcc('XR30'),
  XBGR2101010: fourcc('XB30'),
  XRGB16161616F: fourcc('XR4H'),
  YUYV: fourcc('YUYV'),
  UYVY: fourcc('UYVY'),
  NV12: fourcc('NV12'),
} as const;

/** fourcc_mod_code(vendor, val). Intel's tiling modifiers are the ones GVT-g dma-bufs carry. */
export const DRM_FORMAT_MOD = {
  LINEAR: 0n,
  INVALID: 0x00ffffffffffffffn,
  I915_X_TILED: (1n << 56n) | 1n,
  I915_Y_TILED: (1n << 56n) | 2n,
  I915_Yf_TILED: (1n << 56n) | 3n,
  I915_Y_TILED_CCS: (1n << 56n) | 4n,
} as const;

export function modifierName(m: bigint): string {
  for (const [k, v] of Object.entries(DRM_FORMAT_MOD)) if (v === m) return k;
  return `0x${m.toString(16)}`;
}

export const VFIO = {
  API_VERSION: 0,
  TYPE1_IOMMU: 1,
  TYPE1v2_IOMMU: 3,
  GROUP_FLAGS_VIABLE: 1 << 0,
  GROUP_FLAGS_CONTAINER_SET: 1 << 1,
  DEVICE_FLAGS_PCI: 1 << 1,
  REGION_INFO_FLAG_READ: 1 << 0,
  REGION_INFO_FLAG_WRITE: 1 << 1,
  REGION_INFO_FLAG_MMAP: 1 << 2,
  GFX_PLANE_TYPE_PROBE: 1 << 0,
  GFX_PLANE_TYPE_DMABUF: 1 << 1,
  GFX_PLANE_TYPE_REGION: 1 << 2,
  /** Out of tree: Intel's `topic/local_display_direct_flip` branch. Mainline answers EINVAL. */
  GFX_PLANE_TYPE_DRM_OUT_OF_TREE: 1 << 3,
  /** drm_plane_type values in vfio_device_gfx_plane_info. */
  PLANE_PRIMARY: 1,
  PLANE_CURSOR: 2,
} as const;
