import type { SimBuffer } from './buffers';

/**
 * Synthetic pictures that make a rendered monitor recognisable: the host console is dark blue
 * with text-like rows; a guest desktop is a gradient with a title bar. Pixels are XRGB8888
 * little-endian (B, G, R, X in memory).
 */

function put(b: SimBuffer, x: number, y: number, r: number, g: number, bl: number, a = 0xff): void {
  const o = y * b.stride + x * 4;
  b.pixels[o] = bl;
  b.pixels[o + 1] = g;
  b.pixels[o + 2] = r;
  b.pixels[o + 3] = a;
}

function hash(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

export function paintConsole(b: SimBuffer, label: string): void {
  const seed = hash(label);
  for (let y = 0; y < b.height; y++) {
    const row = Math.floor(y / 16);
    const textRow = y % 16 > 3 && y % 16 < 13 && row < 20;
    for (let x = 0; x < b.width; x++) {
      const col = Math.floor(x / 8);
      const lit = textRow && col < 20 + ((seed >> (row % 24)) & 31) && ((col * 7 + row * 3 + seed) % 5 !== 0) && x % 8 < 6;
      if (lit) put(b, x, y, 0xaa, 0xaa, 0xaa);
      else put(b, x, y, 0x00, 0x00, 0x2a);
    }
  }
}

export function paintDesktop(b: SimBuffer, label: string): void {
  const seed = hash(label);
  const [r0, g0, b0] = [seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff];
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      if (y < Math.max(8, b.height / 20)) put(b, x, y, 0x30, 0x30, 0x38);
      else put(b, x, y, (r0 + (x * 255) / b.width) & 0xff, (g0 + (y * 255) / b.height) & 0xff, b0);
    }
  }
}

/** An arrow-shaped ARGB cursor: opaque white with a black edge, transparent elsewhere. */
export function paintCursor(b: SimBuffer): void {
  b.pixels.fill(0);
  const n = Math.min(b.width, b.height);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x <= y / 2 && x < n; x++) {
      const edge = x === 0 || x >= Math.floor(y / 2) - 1 || y === n - 1;
      if (edge) put(b, x, y, 0, 0, 0);
      else put(b, x, y, 0xff, 0xff, 0xff);
    }
  }
}
