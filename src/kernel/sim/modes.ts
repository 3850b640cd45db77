import type { ModeInfo } from '../types';

/** Standard CEA-861/DMT timings, so simulated monitors report what real EDIDs do. */
const TIMINGS: Record<string, [number, number[], number[], number]> = {
  // name: [clock kHz, [hdisplay, hsyncStart, hsyncEnd, htotal], [v…], flags (PHSYNC 1, NHSYNC 2, PVSYNC 4, NVSYNC 8)]
  '3840x2160@30': [297000, [3840, 4016, 4104, 4400], [2160, 2168, 2178, 2250], 1 | 4],
  '2560x1440@60': [241500, [2560, 2608, 2640, 2720], [1440, 1443, 1448, 1481], 1 | 8],
  '1920x1200@60': [154000, [1920, 1968, 2000, 2080], [1200, 1203, 1209, 1235], 1 | 8],
  '1920x1080@60': [148500, [1920, 2008, 2052, 2200], [1080, 1084, 1089, 1125], 1 | 4],
  '1920x1080@50': [148500, [1920, 2448, 2492, 2640], [1080, 1084, 1089, 1125], 1 | 4],
  '1920x1080@30': [74250, [1920, 2008, 2052, 2200], [1080, 1084, 1089, 1125], 1 | 4],
  '1680x1050@60': [146250, [1680, 1784, 1960, 2240], [1050, 1053, 1059, 1089], 2 | 4],
  '1280x1024@60': [108000, [1280, 1328, 1440, 1688], [1024, 1025, 1028, 1066], 1 | 4],
  '1280x720@60': [74250, [1280, 1390, 1430, 1650], [720, 725, 730, 750], 1 | 4],
  '1024x768@60': [65000, [1024, 1048, 1184, 1344], [768, 771, 777, 806], 2 | 8],
  '800x600@60': [40000, [800, 840, 968, 1056], [600, 601, 605, 628], 1 | 4],
  '640x480@60': [25175, [640, 656, 752, 800], [480, 490, 492, 525], 2 | 8],
};

export const MODE_TYPE_PREFERRED = 1 << 3;
export const MODE_TYPE_DRIVER = 1 << 6;

export function standardMode(name: string, preferred = false): ModeInfo {
  const t = TIMINGS[name];
  if (!t) throw new Error(`no standard timing for mode ${name}; known: ${Object.keys(TIMINGS).join(', ')}`);
  const [clock, h, v, flags] = t;
  return {
    clock,
    hdisplay: h[0],
    hsyncStart: h[1],
    hsyncEnd: h[2],
    htotal: h[3],
    hskew: 0,
    vdisplay: v[0],
    vsyncStart: v[1],
    vsyncEnd: v[2],
    vtotal: v[3],
    vscan: 0,
    vrefresh: Math.round((clock * 1000) / (h[3] * v[3])),
    flags,
    type: MODE_TYPE_DRIVER | (preferred ? MODE_TYPE_PREFERRED : 0),
    name: `${h[0]}x${v[0]}`,
  };
}

/**
 * drm_mode_validate_basic(), which drm_mode_convert_umode() runs on every MODE_ID blob: a
 * reason when the timings cannot be a mode, else null.
 */
export function invalidModeReason(m: ModeInfo): string | null {
  if (m.clock === 0) return 'clock is 0';
  if (m.hdisplay === 0 || m.hsyncStart < m.hdisplay || m.hsyncEnd < m.hsyncStart || m.htotal < m.hsyncEnd) return 'illegal horizontal timings';
  if (m.vdisplay === 0 || m.vsyncStart < m.vdisplay || m.vsyncEnd < m.vsyncStart || m.vtotal < m.vsyncEnd) return 'illegal vertical timings';
  return null;
}
