import type { SimBuffer } from './buffers';

/**
 * Synthetic pictures that make a rendered monitor recognisable: the host console is dark blue
 * with text-like rows; a guest desktop is a gradient with a title bar. Pixels are XRGB8888
 * little-endian (B, G, R, X in memory). Rows are built once and copied: a 1080p buffer is
 * painted in a few milliseconds.
 */

const px = (r: number, g: number, b: number, a = 0xff) => ((a << 24) | (r << 16) | (g << 8) | b) >>> 0;

function rowView(b: SimBuffer, y: number): Uint32Array {
  const start = y * b.stride;
  const bytes = b.pixels.subarray(start, start + b.width * 4);
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function writeRow(b: SimBuffer, y: number, row: Uint32Array): void {
  Buffer.from(row.buffer, row.byteOffset, b.width * 4).copy(b.pixels, y * b.stride);
}

function hash(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

export function paintConsole(b: SimBuffer, label: string): void {
  const seed = hash(label);
  const bg = px(0, 0, 0x2a);
  const fg = px(0xaa, 0xaa, 0xaa);
  const blank = new Uint32Array(b.width).fill(bg);
  for (let row = 0; row * 16 < b.height; row++) {
    const text = new Uint32Array(b.width).fill(bg);
    const cols = row < 20 ? 20 + ((seed >> (row % 24)) & 31) : 0;
    for (let col = 0; col < cols && col * 8 < b.width; col++) {
      if ((col * 7 + row * 3 + seed) % 5 === 0) continue;
      text.fill(fg, col * 8, Math.min(b.width, col * 8 + 6));
    }
    for (let y = row * 16; y < Math.min(b.height, row * 16 + 16); y++) writeRow(b, y, y % 16 > 3 && y % 16 < 13 ? text : blank);
  }
}

export function paintDesktop(b: SimBuffer, label: string): void {
  const seed = hash(label);
  const [r0, g0, b0] = [seed & 0xff, (seed >> 8) & 0xff, (seed >> 16) & 0xff];
  const bar = new Uint32Array(b.width).fill(px(0x30, 0x30, 0x38));
  const row = new Uint32Array(b.width);
  const barH = Math.max(8, Math.floor(b.height / 20));
  // Red follows x and green follows y: the red/blue part of every row is computed once.
  const redBlue = new Uint32Array(b.width);
  for (let x = 0; x < b.width; x++) redBlue[x] = px((r0 + Math.floor((x * 255) / b.width)) & 0xff, 0, b0);
  for (let y = 0; y < b.height; y++) {
    if (y < barH) {
      writeRow(b, y, bar);
      continue;
    }
    const g = ((g0 + Math.floor((y * 255) / b.height)) & 0xff) << 8;
    for (let x = 0; x < b.width; x++) row[x] = (redBlue[x] | g) >>> 0;
    writeRow(b, y, row);
  }
}

/** An arrow-shaped ARGB cursor: opaque white with a black edge, transparent elsewhere. */
export function paintCursor(b: SimBuffer): void {
  b.pixels.fill(0);
  const n = Math.min(b.width, b.height);
  for (let y = 0; y < n; y++) {
    const row = rowView(b, y);
    const end = Math.floor(y / 2);
    for (let x = 0; x <= end && x < n; x++) {
      const edge = x === 0 || x >= end - 1 || y === n - 1;
      row[x] = edge ? px(0, 0, 0) : px(0xff, 0xff, 0xff);
    }
    writeRow(b, y, row);
  }
}
