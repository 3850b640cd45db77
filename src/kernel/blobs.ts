import type { ModeInfo } from './types';

/**
 * The two property blob layouts directflip reads and writes: struct drm_mode_modeinfo (MODE_ID)
 * and struct drm_format_modifier_blob (IN_FORMATS). Shared by the topology reader and the
 * simulator, so both sides agree byte for byte with the kernel.
 */

export const MODEINFO_SIZE = 68;

export function encodeModeInfo(m: ModeInfo): Buffer {
  const b = Buffer.alloc(MODEINFO_SIZE);
  b.writeUInt32LE(m.clock, 0);
  const u16 = [m.hdisplay, m.hsyncStart, m.hsyncEnd, m.htotal, m.hskew, m.vdisplay, m.vsyncStart, m.vsyncEnd, m.vtotal, m.vscan];
  u16.forEach((v, i) => b.writeUInt16LE(v, 4 + 2 * i));
  b.writeUInt32LE(m.vrefresh, 24);
  b.writeUInt32LE(m.flags, 28);
  b.writeUInt32LE(m.type, 32);
  b.write(m.name.slice(0, 31), 36, 'latin1');
  return b;
}

export function decodeModeInfo(b: Buffer): ModeInfo {
  if (b.length < MODEINFO_SIZE) throw new RangeError(`mode blob is ${b.length} bytes, expected ${MODEINFO_SIZE}`);
  const u16 = (i: number) => b.readUInt16LE(4 + 2 * i);
  const nameEnd = b.indexOf(0, 36);
  return {
    clock: b.readUInt32LE(0),
    hdisplay: u16(0),
    hsyncStart: u16(1),
    hsyncEnd: u16(2),
    htotal: u16(3),
    hskew: u16(4),
    vdisplay: u16(5),
    vsyncStart: u16(6),
    vsyncEnd: u16(7),
    vtotal: u16(8),
    vscan: u16(9),
    vrefresh: b.readUInt32LE(24),
    flags: b.readUInt32LE(28),
    type: b.readUInt32LE(32),
    name: b.toString('latin1', 36, nameEnd < 0 || nameEnd > 68 ? 68 : nameEnd),
  };
}

/** format fourcc → the modifiers the plane accepts with it. */
export type FormatModifiers = Map<number, bigint[]>;

const HEADER = 24;
const MODIFIER_ENTRY = 24;

export function encodeInFormats(formats: number[], modifiers: { modifier: bigint; formats: number[] }[]): Buffer {
  const formatsOffset = HEADER;
  const modifiersOffset = Math.ceil((formatsOffset + 4 * formats.length) / 8) * 8;
  const b = Buffer.alloc(modifiersOffset + MODIFIER_ENTRY * modifiers.length);
  b.writeUInt32LE(1, 0); // FORMAT_BLOB_CURRENT
  b.writeUInt32LE(0, 4);
  b.writeUInt32LE(formats.length, 8);
  b.writeUInt32LE(formatsOffset, 12);
  b.writeUInt32LE(modifiers.length, 16);
  b.writeUInt32LE(modifiersOffset, 20);
  formats.forEach((f, i) => b.writeUInt32LE(f, formatsOffset + 4 * i));
  // Formats beyond index 63 would need a second entry with offset 64; no plane here has that many.
  modifiers.forEach((m, i) => {
    let mask = 0n;
    for (const f of m.formats) {
      const idx = formats.indexOf(f);
      if (idx >= 0 && idx < 64) mask |= 1n << BigInt(idx);
    }
    const at = modifiersOffset + MODIFIER_ENTRY * i;
    b.writeBigUInt64LE(mask, at);
    b.writeUInt32LE(0, at + 8);
    b.writeBigUInt64LE(m.modifier, at + 16);
  });
  return b;
}

export function decodeInFormats(b: Buffer): FormatModifiers {
  const count = b.readUInt32LE(8);
  const formatsOffset = b.readUInt32LE(12);
  const countMods = b.readUInt32LE(16);
  const modsOffset = b.readUInt32LE(20);
  const formats: number[] = [];
  for (let i = 0; i < count; i++) formats.push(b.readUInt32LE(formatsOffset + 4 * i));
  const out: FormatModifiers = new Map(formats.map((f) => [f, []]));
  for (let i = 0; i < countMods; i++) {
    const at = modsOffset + MODIFIER_ENTRY * i;
    const mask = b.readBigUInt64LE(at);
    const offset = b.readUInt32LE(at + 8);
    const modifier = b.readBigUInt64LE(at + 16);
    for (let bit = 0; bit < 64; bit++) {
      if (mask & (1n << BigInt(bit))) {
        const f = formats[offset + bit];
        if (f !== undefined) out.get(f)!.push(modifier);
      }
    }
  }
  return out;
}
