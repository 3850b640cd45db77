/** The KMS half of a simulated host profile (examples/hosts/*.json, key `kms`). */

export interface PlaneTemplate {
  type: 'primary' | 'overlay' | 'cursor';
  /** fourcc names, e.g. "XR24". */
  formats: string[];
  /** Modifier names from DRM_FORMAT_MOD (LINEAR, I915_X_TILED …) accepted with every format. */
  modifiers: string[];
  /** Formats that accept only LINEAR even when the plane lists tiled modifiers. */
  linearOnly?: string[];
  /**
   * Immutable zpos, when the driver exposes one. i915 does: primary 0, sprites 1..n, cursor n+1
   * (skl_universal_plane_create, intel_cursor_plane_create). vkms 6.1 has none and blends in
   * plane creation order, which the topology reports as `stack`.
   */
  zpos?: number;
  /**
   * The plane's `rotation` bits, when the driver creates the property (i915: gen9 primary and
   * sprites rotate-0/90/180/270, gen11+ also reflect-x; cursors rotate-0/180). vkms 6.1: none.
   */
  rotations?: string[];
  /**
   * Scaling allowed (a plane scaler); false: src size must equal dst size (DRM_PLANE_NO_SCALING).
   * A scaling plane upscales without limit (i915 skl_plane_check: min_scale 1) and downscales
   * below `maxDownscale` (default 3: max_scale 0x30000 - 1), below `maxDownscaleSemiplanar` for
   * NV12-like formats (gen9: 2).
   */
  scaling: boolean;
  maxDownscale?: number;
  maxDownscaleSemiplanar?: number;
  /** Formats this scaling plane still cannot scale (i915 intel_fb_scalable: C8, FP16 before gen11). */
  unscalableFormats?: string[];
  /**
   * Overlays only: the plane may be put on any CRTC (possible_crtcs all bits), as drivers with a
   * shared pool of planes create them; by default a plane belongs to its own pipe (i915, vkms).
   */
  anyCrtc?: boolean;
  /** Must cover the whole CRTC when visible (can_position false in the driver). */
  fullScreen?: boolean;
  /**
   * Cursor widths the driver checks for (i915: 64, 128, 256, i9xx_cursor_size_ok); absent: the
   * driver has no cursor check of its own (vkms).
   */
  sizes?: number[];
  /** With `sizes`: heights must equal the width, or may be 8 lines up to it (IVB+ CUR_FBC_CTL). */
  cursorHeights?: 'square' | 'up-to-width';
}

/**
 * One mode exactly as drm_mode_modeinfo carries it. `vrefresh` is not given: it is computed as
 * drm_mode_vrefresh() does. `type` carries its own bits (DRIVER 0x40, PREFERRED 0x8).
 */
export interface ModeSpec {
  name: string;
  /** kHz. */
  clock: number;
  /** hdisplay, hsync_start, hsync_end, htotal. */
  h: [number, number, number, number];
  /** vdisplay, vsync_start, vsync_end, vtotal. */
  v: [number, number, number, number];
  hskew?: number;
  vscan?: number;
  /** DRM_MODE_FLAG_*: PHSYNC 0x1, NHSYNC 0x2, PVSYNC 0x4, NVSYNC 0x8, INTERLACE 0x10 … */
  flags: number;
  /** DRM_MODE_TYPE_*. */
  type: number;
}

export interface ConnectorProfile {
  /** DRM connector type name, e.g. "HDMI-A", "eDP", "Virtual", "Writeback". */
  type: string;
  typeId: number;
  status: 'connected' | 'disconnected' | 'unknown';
  mmWidth: number;
  mmHeight: number;
  /**
   * The connector's mode list, in the order GETCONNECTOR gives it: standard mode names from
   * sim/modes.ts (the first of them is preferred), or modes spelled out field by field, as a driver
   * whose list comes from the kernel's own tables reports them (vkms: drm_add_modes_noedid()).
   */
  modes: (string | ModeSpec)[];
  /** Indices of the CRTCs this connector's encoder can drive. */
  possibleCrtcs: number[];
  /** At boot: driven by this CRTC index with this mode (`WxH@R`, the first such in `modes`), showing the console. */
  active?: { crtc: number; mode: string };
  /** Writeback connector: output formats it can write. */
  writebackFormats?: string[];
}

/**
 * A driver property beyond the core's (colour, blend, connector properties), as the driver creates
 * it: on every object of `object` (filtered by plane type or connector type), one per object when
 * `perObject` (drm_plane_create_*), else one per device shared by all (intel_attach_*).
 */
export interface PropertyDef {
  name: string;
  object: 'crtc' | 'plane' | 'connector';
  planes?: ('primary' | 'overlay' | 'cursor')[];
  connectors?: string[];
  type: 'range' | 'signed_range' | 'enum' | 'bitmask' | 'blob';
  enums?: { name: string; value: number }[];
  min?: number;
  max?: number;
  /** The value at boot. */
  default: number;
  perObject?: boolean;
  immutable?: boolean;
  atomic?: boolean;
  /** Blob properties: the exact length the kernel wants (drm_atomic_replace_property_blob_from_id). */
  blobSize?: number;
  /** Blob properties: the element size the length must divide by, e.g. 8 for struct drm_color_lut. */
  blobElementSize?: number;
  /** The range property on the same object giving the element count the driver wants (i915 check_luts). */
  lutSizeProperty?: string;
  /** Where the kernel does this: documentation only. */
  kernel?: string;
}

export interface KmsProfile {
  driver: { name: string; desc: string; date: string; major: number; minor: number; patch: number };
  /** `/dev/dri/card0` as the sim presents it. */
  devPath: string;
  /** PCI address of the GPU, for /dev/dri/by-path and the mdev parent. */
  pciAddress: string;
  caps: {
    cursorWidth: number;
    cursorHeight: number;
    addfb2Modifiers: boolean;
    prime: number;
    dumbBuffer: number;
    /** CREATE_DUMB pitch alignment in bytes: i915 64 (the default), shmem drivers such as vkms 1. */
    dumbPitchAlign?: number;
  };
  limits: { minWidth: number; maxWidth: number; minHeight: number; maxHeight: number };
  crtcs: number;
  /**
   * Plane scalers per CRTC index, shared by every plane on it that scales or is planar YUV
   * (i915 gen9: 2, 2, 1; intel_atomic_setup_scalers refuses more). Absent: no shared limit.
   */
  scalersPerCrtc?: number[];
  /**
   * Source and destination sizes a plane scaler takes, in pixels, when the plane scales
   * (skl_update_scaler: SKL_MIN_SRC_W 8 … SKL_MAX_DST_W 4096); outside is EINVAL.
   */
  scalerRange?: [number, number];
  connectors: ConnectorProfile[];
  /** Planes created for every CRTC, in order (ids follow the kernel's creation order). */
  planesPerCrtc: PlaneTemplate[];
  /** The driver's own properties, attached after the core's on each object. */
  properties?: PropertyDef[];
}
