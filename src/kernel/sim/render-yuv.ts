import type { CardFb } from './kms-card';

/** Writes one pixel's [r, g, b, a] into `px`. */
type Decode = (o: number, px: Uint8Array) => void;

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * NV12 as a plane scans it out with the default COLOR_ENCODING and COLOR_RANGE (BT.601, limited
 * range): luma in plane 0, interleaved Cb/Cr at half resolution in plane 1, each plane in its own
 * GEM object at its own offset and pitch. `o` is the luma byte the sampler chose; the chroma
 * sample is the one covering the same pixel.
 */
export function nv12Decoder(fb: CardFb): Decode {
  const luma = fb.buffer.pixels;
  const pitch0 = fb.pitches[0];
  const chroma = fb.objs[1].buffer.pixels.subarray(fb.offsets[1] ?? 0);
  const pitch1 = fb.pitches[1];
  return (o, px) => {
    const y = Math.floor(o / pitch0);
    const x = o - y * pitch0;
    const c = (y >> 1) * pitch1 + (x >> 1) * 2;
    const l = 1.164 * (luma[o] - 16);
    const cb = (chroma[c] ?? 128) - 128;
    const cr = (chroma[c + 1] ?? 128) - 128;
    px[0] = clamp(l + 1.596 * cr);
    px[1] = clamp(l - 0.392 * cb - 0.813 * cr);
    px[2] = clamp(l + 2.017 * cb);
    px[3] = 255;
  };
}
