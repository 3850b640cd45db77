import { fourcc } from './constants';

/** drm_format_info for the formats directflip meets: bytes per pixel per plane and subsampling. */
export interface FormatInfo {
  cpp: number[];
  hsub: number;
  vsub: number;
  hasAlpha: boolean;
}

const T: Record<string, FormatInfo> = {
  'C8  ': { cpp: [1], hsub: 1, vsub: 1, hasAlpha: false },
  RG16: { cpp: [2], hsub: 1, vsub: 1, hasAlpha: false },
  XR24: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: false },
  XB24: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: false },
  AR24: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: true },
  AB24: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: true },
  XR30: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: false },
  XB30: { cpp: [4], hsub: 1, vsub: 1, hasAlpha: false },
  XR48: { cpp: [8], hsub: 1, vsub: 1, hasAlpha: false },
  AR48: { cpp: [8], hsub: 1, vsub: 1, hasAlpha: true },
  XR4H: { cpp: [8], hsub: 1, vsub: 1, hasAlpha: false },
  YUYV: { cpp: [2], hsub: 2, vsub: 1, hasAlpha: false },
  UYVY: { cpp: [2], hsub: 2, vsub: 1, hasAlpha: false },
  NV12: { cpp: [1, 2], hsub: 2, vsub: 2, hasAlpha: false },
};

const BY_CODE = new Map(Object.entries(T).map(([k, v]) => [fourcc(k), v]));

export function formatInfo(format: number): FormatInfo | undefined {
  return BY_CODE.get(format);
}
