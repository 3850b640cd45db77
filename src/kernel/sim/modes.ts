import type { ModeInfo } from '../types';
import type { ModeSpec } from './kms-profile';

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

const MODE_FLAG_INTERLACE = 1 << 4;
const MODE_FLAG_DBLSCAN = 1 << 5;

/** drm_mode_vrefresh(): the refresh rate in Hz, rounded to the closest, as modeinfo carries it. */
export function modeVrefresh(m: Pick<ModeInfo, 'clock' | 'htotal' | 'vtotal' | 'vscan' | 'flags'>): number {
  if (m.htotal === 0 || m.vtotal === 0) return 0;
  let num = m.clock;
  let den = m.htotal * m.vtotal;
  if (m.flags & MODE_FLAG_INTERLACE) num *= 2;
  if (m.flags & MODE_FLAG_DBLSCAN) den *= 2;
  if (m.vscan > 1) den *= m.vscan;
  return Math.round((num * 1000) / den);
}

/** `WxH@R`, with `i` for interlaced: how profiles and the sim name a mode. */
export function modeLabel(m: ModeInfo): string {
  return `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}${m.flags & MODE_FLAG_INTERLACE ? 'i' : ''}`;
}

export function standardMode(name: string, preferred = false): ModeInfo {
  const t = TIMINGS[name];
  if (!t) throw new Error(`no standard timing for mode ${name}; known: ${Object.keys(TIMINGS).join(', ')}`);
  const [clock, h, v, flags] = t;
  return explicitMode({ name: `${h[0]}x${v[0]}`, clock, h: [h[0], h[1], h[2], h[3]], v: [v[0], v[1], v[2], v[3]], flags, type: MODE_TYPE_DRIVER | (preferred ? MODE_TYPE_PREFERRED : 0) });
}

/** A mode a profile spells out field by field. */
export function explicitMode(s: ModeSpec): ModeInfo {
  const m: ModeInfo = {
    clock: s.clock,
    hdisplay: s.h[0],
    hsyncStart: s.h[1],
    hsyncEnd: s.h[2],
    htotal: s.h[3],
    hskew: s.hskew ?? 0,
    vdisplay: s.v[0],
    vsyncStart: s.v[1],
    vsyncEnd: s.v[2],
    vtotal: s.v[3],
    vscan: s.vscan ?? 0,
    vrefresh: 0,
    flags: s.flags,
    type: s.type,
    name: s.name,
  };
  m.vrefresh = modeVrefresh(m);
  const bad = invalidModeReason(m);
  if (bad) throw new Error(`sim profile: mode ${s.name}: ${bad}`);
  return m;
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
