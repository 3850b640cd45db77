import { fourcc } from './constants';

/** drm_format_info: bytes per pixel per plane and subsampling. */
export interface FormatInfo {
  cpp: number[];
  hsub: number;
  vsub: number;
  hasAlpha: boolean;
}

const rgb = (cpp: number, hasAlpha = false): FormatInfo => ({ cpp: [cpp], hsub: 1, vsub: 1, hasAlpha });
const yuv = (cpp: number[], hsub: number, vsub: number, hasAlpha = false): FormatInfo => ({ cpp, hsub, vsub, hasAlpha });

/**
 * drm_fourcc.c's __drm_format_info() for the RGB and YUV formats a producer may hand over (QEMU's
 * ScanoutDMABUF2 passes what the guest's GPU exported): bytes per pixel of each plane, and the
 * chroma planes' subsampling.
 */
const T: Record<string, FormatInfo> = {
  'C8  ': rgb(1), 'R8  ': rgb(1), 'R16 ': rgb(2), RG88: rgb(2), GR88: rgb(2), RGB8: rgb(1), BGR8: rgb(1),
  XR12: rgb(2), XB12: rgb(2), RX12: rgb(2), BX12: rgb(2), AR12: rgb(2, true), AB12: rgb(2, true), RA12: rgb(2, true), BA12: rgb(2, true),
  XR15: rgb(2), XB15: rgb(2), RX15: rgb(2), BX15: rgb(2), AR15: rgb(2, true), AB15: rgb(2, true), RA15: rgb(2, true), BA15: rgb(2, true),
  RG16: rgb(2), BG16: rgb(2), RG24: rgb(3), BG24: rgb(3),
  XR24: rgb(4), XB24: rgb(4), RX24: rgb(4), BX24: rgb(4), AR24: rgb(4, true), AB24: rgb(4, true), RA24: rgb(4, true), BA24: rgb(4, true),
  XR30: rgb(4), XB30: rgb(4), RX30: rgb(4), BX30: rgb(4), AR30: rgb(4, true), AB30: rgb(4, true), RA30: rgb(4, true), BA30: rgb(4, true),
  XR48: rgb(8), XB48: rgb(8), AR48: rgb(8, true), AB48: rgb(8, true),
  XR4H: rgb(8), XB4H: rgb(8), AR4H: rgb(8, true), AB4H: rgb(8, true),
  YUYV: yuv([2], 2, 1), YVYU: yuv([2], 2, 1), UYVY: yuv([2], 2, 1), VYUY: yuv([2], 2, 1), AYUV: yuv([4], 1, 1, true), XYUV: yuv([4], 1, 1),
  NV12: yuv([1, 2], 2, 2), NV21: yuv([1, 2], 2, 2), NV16: yuv([1, 2], 2, 1), NV61: yuv([1, 2], 2, 1), NV24: yuv([1, 2], 1, 1), NV42: yuv([1, 2], 1, 1),
  P010: yuv([2, 4], 2, 2), P012: yuv([2, 4], 2, 2), P016: yuv([2, 4], 2, 2),
  YU12: yuv([1, 1, 1], 2, 2), YV12: yuv([1, 1, 1], 2, 2), YU16: yuv([1, 1, 1], 2, 1), YV16: yuv([1, 1, 1], 2, 1), YU24: yuv([1, 1, 1], 1, 1), YV24: yuv([1, 1, 1], 1, 1),
};

const BY_CODE = new Map(Object.entries(T).map(([k, v]) => [fourcc(k), v]));

export function formatInfo(format: number): FormatInfo | undefined {
  return BY_CODE.get(format);
}
