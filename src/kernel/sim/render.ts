import { decodeModeInfo } from '../blobs';
import { fourccName } from '../constants';
import type { Touched } from './kms-atomic';
import type { CardFb, SimCard } from './kms-card';
import { nv12Decoder } from './render-yuv';

/** What a monitor on the CRTC shows, as RGBA bytes: the planes composited by zpos. */
export interface Picture {
  width: number;
  height: number;
  rgba: Buffer;
}

/** Writes one pixel's [r, g, b, a] into `px` (a scratch array: no allocation per pixel). */
type Decode = (o: number, px: Uint8Array) => void;

/**
 * How to read one fb's pixels, chosen once per plane. Formats the layers above actually scan out
 * (NV12 from QEMU's multi-plane dma-bufs); other YUV and indexed formats pass the checks but are
 * not drawn: mid grey says so.
 */
function decoderFor(fb: CardFb): { cpp: number; decode: Decode } {
  const b = fb.buffer.pixels;
  const name = fourccName(fb.format);
  const cpp = name === 'NV12' ? 1 : name === 'RG16' ? 2 : name === 'XR48' || name === 'AR48' ? 8 : 4;
  const set = (px: Uint8Array, r: number, g: number, bl: number, a: number) => {
    px[0] = r;
    px[1] = g;
    px[2] = bl;
    px[3] = a;
  };
  const decode = ((): Decode => {
    switch (name) {
      case 'XR24': return (o, px) => set(px, b[o + 2], b[o + 1], b[o], 255);
      case 'AR24': return (o, px) => set(px, b[o + 2], b[o + 1], b[o], b[o + 3]);
      case 'XB24': return (o, px) => set(px, b[o], b[o + 1], b[o + 2], 255);
      case 'AB24': return (o, px) => set(px, b[o], b[o + 1], b[o + 2], b[o + 3]);
      case 'RG16': return (o, px) => {
        const v = b.readUInt16LE(o);
        set(px, ((v >> 11) & 31) * 255 / 31 | 0, ((v >> 5) & 63) * 255 / 63 | 0, (v & 31) * 255 / 31 | 0, 255);
      };
      case 'XR30': return (o, px) => {
        const v = b.readUInt32LE(o);
        set(px, (v >> 22) & 255, (v >> 12) & 255, (v >> 2) & 255, 255);
      };
      case 'XB30': return (o, px) => {
        const v = b.readUInt32LE(o);
        set(px, (v >> 2) & 255, (v >> 12) & 255, (v >> 22) & 255, 255);
      };
      case 'XR48': return (o, px) => set(px, b[o + 5], b[o + 3], b[o + 1], 255);
      case 'AR48': return (o, px) => set(px, b[o + 5], b[o + 3], b[o + 1], b[o + 7]);
      case 'NV12': return nv12Decoder(fb);
      default: return (_o, px) => set(px, 128, 128, 128, 255);
    }
  })();
  return { cpp, decode };
}

/** What a monitor on the CRTC shows (the name the brief uses; same as renderCrtc). */
export function render(card: SimCard, crtcId: number): Picture {
  return renderCrtc(card, crtcId);
}

/**
 * Nearest-neighbour sampling: the byte offset in the fb of what destination pixel (x, y) shows.
 * The plane reflects the source first, then turns it counter-clockwise (drm_rect_rotate()).
 */
function sampler(rotation: bigint, s: { sx: number; sy: number; sw: number; sh: number }, d: { cx: number; cy: number; cw: number; ch: number }, cpp: number, pitch: number) {
  if (rotation === 1n) {
    // The common case, one column table per plane.
    const cols = new Int32Array(d.cw);
    for (let i = 0; i < d.cw; i++) cols[i] = Math.floor(s.sx + (i * s.sw) / d.cw) * cpp;
    let lastY = NaN;
    let row = 0;
    return (x: number, y: number) => {
      if (y !== lastY) [lastY, row] = [y, Math.floor(s.sy + ((y - d.cy) * s.sh) / d.ch) * pitch];
      return row + cols[x - d.cx];
    };
  }
  const turn = [1n, 2n, 4n, 8n].indexOf(rotation & 0xfn); // quarter turns counter-clockwise
  const [rx, ry] = [(rotation & 16n) !== 0n, (rotation & 32n) !== 0n];
  return (x: number, y: number) => {
    // Destination position in [0, 1), then back through the turn and the reflection.
    const u = (x - d.cx + 0.5) / d.cw;
    const w = (y - d.cy + 0.5) / d.ch;
    let [a, b] = turn === 1 ? [1 - w, u] : turn === 2 ? [1 - u, 1 - w] : turn === 3 ? [w, 1 - u] : [u, w];
    if (rx) a = 1 - a;
    if (ry) b = 1 - b;
    const col = Math.min(s.sw - 1, Math.floor(a * s.sw));
    const row = Math.min(s.sh - 1, Math.floor(b * s.sh));
    return Math.floor(s.sy + row) * pitch + Math.floor(s.sx + col) * cpp;
  };
}

export function renderCrtc(card: SimCard, crtcId: number, state = card.state): Picture {
  const crtc = card.built.crtcs.find((c) => c.id === crtcId);
  if (!crtc) throw new Error(`sim: no CRTC ${crtcId}`);
  const modeBlob = card.blobs.get(Number(state.get(crtc.id)!.get('MODE_ID')));
  if (!modeBlob || state.get(crtc.id)!.get('ACTIVE') !== 1n) return { width: 0, height: 0, rgba: Buffer.alloc(0) };
  const mode = decodeModeInfo(modeBlob.data);
  const W = mode.hdisplay;
  const H = mode.vdisplay;
  const out = Buffer.alloc(W * H * 4);
  for (let i = 3; i < out.length; i += 4) out[i] = 255; // a CRTC with no plane scans out black
  const rank = { primary: 0, overlay: 1, cursor: 2 };
  const planes = card.built.planes
    .filter((p) => Number(state.get(p.id)!.get('CRTC_ID')) === crtc.id)
    .sort((a, b) => (a.zpos ?? rank[a.type] * 100) - (b.zpos ?? rank[b.type] * 100) || a.id - b.id);
  for (const p of planes) {
    const v = state.get(p.id)!;
    const fb = card.fbs.get(Number(v.get('FB_ID')));
    if (!fb) continue;
    const { cpp, decode } = decoderFor(fb);
    const src = fb.buffer.pixels;
    const pitch = fb.pitches[0];
    const [sx, sy, sw, sh] = ['SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H'].map((k) => Number(v.get(k)!) / 65536);
    const cx = Number(BigInt.asIntN(64, v.get('CRTC_X')!));
    const cy = Number(BigInt.asIntN(64, v.get('CRTC_Y')!));
    const cw = Number(v.get('CRTC_W'));
    const ch = Number(v.get('CRTC_H'));
    const x0 = Math.max(0, cx);
    const x1 = Math.min(W, cx + cw);
    const sample = sampler(v.get('rotation') ?? 1n, { sx, sy, sw, sh }, { cx, cy, cw, ch }, cpp, pitch);
    const px = new Uint8Array(4);
    for (let y = Math.max(0, cy); y < Math.min(H, cy + ch); y++) {
      for (let x = x0; x < x1; x++) {
        const so = sample(x, y);
        if (so + cpp > src.length) continue;
        decode(so, px);
        const o = (y * W + x) * 4;
        const a = px[3];
        if (a === 255) {
          out[o] = px[0];
          out[o + 1] = px[1];
          out[o + 2] = px[2];
        } else if (a !== 0 || px[0] || px[1] || px[2]) {
          // The default "pixel blend mode" is Pre-multiplied (vkms: pre_mul_alpha_blend): the
          // colour already carries its alpha, only the background is attenuated.
          out[o] = Math.min(255, px[0] + Math.round((out[o] * (255 - a)) / 255));
          out[o + 1] = Math.min(255, px[1] + Math.round((out[o + 1] * (255 - a)) / 255));
          out[o + 2] = Math.min(255, px[2] + Math.round((out[o + 2] * (255 - a)) / 255));
        }
      }
    }
  }
  return { width: W, height: H, rgba: out };
}

/** A committed writeback job: the CRTC's picture lands in the fb, and the property resets. */
export function renderWriteback(card: SimCard, touched: Touched): void {
  for (const conn of card.built.connectors) {
    if (!conn.writeback || !touched.connectors.has(conn.id)) continue;
    const v = card.state.get(conn.id)!;
    const fb = card.fbs.get(Number(v.get('WRITEBACK_FB_ID')));
    if (!fb) continue;
    const pic = renderCrtc(card, Number(v.get('CRTC_ID')));
    const store = storeFor(fourccName(fb.format));
    for (let y = 0; y < pic.height; y++) {
      for (let x = 0; x < pic.width; x++) {
        const i = (y * pic.width + x) * 4;
        store(fb.buffer.pixels, y * fb.pitches[0], x, pic.rgba[i], pic.rgba[i + 1], pic.rgba[i + 2]);
      }
    }
    v.set('WRITEBACK_FB_ID', 0n);
  }
}

type Store = (b: Buffer, row: number, x: number, r: number, g: number, bl: number) => void;

/** Writers for vkms's writeback formats (vkms_wb_formats[] in 6.1): the picture is opaque. */
function storeFor(name: string): Store {
  switch (name) {
    case 'XR24':
    case 'AR24':
      return (b, row, x, r, g, bl) => b.set([bl, g, r, 255], row + 4 * x);
    case 'XR48':
    case 'AR48':
      // 16 bits per channel, B G R A little-endian: 8-bit value v widens to v * 257.
      return (b, row, x, r, g, bl) => {
        const o = row + 8 * x;
        b.writeUInt16LE(bl * 257, o);
        b.writeUInt16LE(g * 257, o + 2);
        b.writeUInt16LE(r * 257, o + 4);
        b.writeUInt16LE(0xffff, o + 6);
      };
    case 'RG16':
      return (b, row, x, r, g, bl) => b.writeUInt16LE(((r >> 3) << 11) | ((g >> 2) << 5) | (bl >> 3), row + 2 * x);
    default:
      throw new Error(`sim: writeback to ${name} is not drawn`);
  }
}
