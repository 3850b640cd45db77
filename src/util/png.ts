import { crc32, deflateSync, inflateSync } from 'node:zlib';

/** A minimal PNG encoder (RGBA, 8 bits per channel): enough to show a simulated monitor. */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  if (rgba.length !== width * height * 4) throw new RangeError(`expected ${width * height * 4} RGBA bytes, got ${rgba.length}`);
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return pngFile(width, height, COLOUR.RGBA, raw);
}

/** PNG colour types (8 bits per channel here). */
export const COLOUR = { RGB: 2, RGBA: 6 } as const;

/**
 * The PNG container around image rows that are already filtered (each row led by its filter
 * byte): signature, IHDR, one IDAT, IEND.
 */
export function pngFile(width: number, height: number, colour: number, filteredRows: Buffer, level?: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, colour, 0, 0, 0], 8); // 8 bits, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(filteredRows, level === undefined ? {} : { level })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * Reads back a PNG this encoder wrote (RGBA, 8 bits, no row filters), for checks on what a
 * simulated monitor showed. Anything else is refused rather than misread.
 */
export function decodePng(png: Buffer): { width: number; height: number; rgba: Buffer } {
  if (png.length < 33 || png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 6 || data[12] !== 0) throw new Error('only 8-bit RGBA, non-interlaced PNGs are read');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (width * 4 + 1) * height) throw new Error(`PNG data is ${raw.length} bytes, expected ${(width * 4 + 1) * height}`);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 4 + 1);
    if (raw[row] !== 0) throw new Error(`row ${y} uses PNG filter ${raw[row]}; only unfiltered rows are read`);
    raw.copy(rgba, y * width * 4, row + 1, row + 1 + width * 4);
  }
  return { width, height, rgba };
}

/** How many distinct colours a rectangle of the picture holds (1: blank). */
export function distinctColours(pic: { width: number; rgba: Buffer }, x: number, y: number, w: number, h: number): number {
  const seen = new Set<number>();
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) seen.add(pic.rgba.readUInt32LE((j * pic.width + i) * 4));
  return seen.size;
}
