import type { TopoProp } from '../kernel/topology';

/**
 * The values under which a guest's picture reaches the monitor as the guest drew it: the kernel's
 * own defaults (drm_blend.c, drm_color_mgmt.c, drm_connector.c, i915's connector properties). The
 * host may have left anything there (a night-light gamma LUT, limited-range RGB, HDR metadata
 * for a video player); a takeover sets these, and release gives the host's values back.
 */
type Neutral = (p: TopoProp) => bigint | null;

const named = (name: string): Neutral => (p) => p.enums?.find((e) => e.name === name)?.value ?? null;
const none: Neutral = () => 0n;
const top: Neutral = (p) => p.range?.[1] ?? null;

const NEUTRAL: Record<'plane' | 'crtc' | 'connector', Record<string, Neutral>> = {
  plane: {
    // A bitmask: the value is the bit, the enum value its number.
    rotation: (p) => {
      const bit = p.enums?.find((e) => e.name === 'rotate-0')?.value;
      return bit === undefined ? null : 1n << bit;
    },
    alpha: top,
    'pixel blend mode': named('Pre-multiplied'),
    COLOR_ENCODING: named('ITU-R BT.709 YCbCr'),
    COLOR_RANGE: named('YCbCr limited range'),
  },
  crtc: { DEGAMMA_LUT: none, CTM: none, GAMMA_LUT: none },
  connector: {
    HDR_OUTPUT_METADATA: none,
    Colorspace: named('Default'),
    'Broadcast RGB': named('Automatic'),
    // drm_connector_attach_max_bpc_property() starts at the maximum.
    'max bpc': top,
    'Content Protection': named('Undesired'),
  },
};

/** The neutral value of one property of an object of `kind`, or null when it has none. */
export function neutralValue(kind: 'plane' | 'crtc' | 'connector', p: TopoProp): bigint | null {
  if (p.immutable) return null;
  return NEUTRAL[kind][p.name]?.(p) ?? null;
}

/** Every neutral (name, value) an object's properties call for. */
export function neutralValues(kind: 'plane' | 'crtc' | 'connector', props: Record<string, TopoProp>): [TopoProp, bigint][] {
  const out: [TopoProp, bigint][] = [];
  for (const p of Object.values(props)) {
    const v = neutralValue(kind, p);
    if (v !== null) out.push([p, v]);
  }
  return out;
}
