/**
 * The frame path's D-Bus messages without dbus-next's general machinery (design §5: no GC stalls
 * on the frame path). QEMU's Listener calls and our replies hold only basic types and `ay`; for
 * those, this reads and writes the bytes directly: no signature trees, no Long or string round
 * trip for a 64-bit value, no intermediate Buffers. Whatever falls outside (a container, a
 * variant, a value past the end, a type the field does not allow) returns null and goes to the
 * checked general reader or to dbus-next's marshaller, which decide it and name the fault as
 * before: this is a shortcut that agrees with them, never a second judge.
 */

/** Header field names by code (the specification's table, dbus-next's names). */
export const FIELD_NAME = [null, 'path', 'interface', 'member', 'errorName', 'replySerial', 'destination', 'sender', 'signature', 'unixFd'] as const;
/** What each header field must hold. */
export const FIELD_SIG = ['', 'o', 's', 's', 's', 'u', 's', 's', 'g', 'u'];
const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1 };

const up = (pos: number, a: number) => (pos + a - 1) & ~(a - 1);

/**
 * Strings the peer repeats (path, interface, member) are decoded once: the last few byte strings
 * seen for each field are kept, and the same bytes give back the same string.
 */
class Interned {
  private readonly bytes = [0, 1, 2, 3].map(() => Buffer.alloc(128));
  private readonly lens = [-1, -1, -1, -1];
  private readonly strs = ['', '', '', ''];
  private next = 0;

  get(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    for (let i = 0; i < 4; i++) if (n === this.lens[i] && buf.compare(this.bytes[i], 0, n, start, end) === 0) return this.strs[i];
    const s = buf.toString('utf8', start, end);
    if (n <= 128) {
      const i = this.next;
      this.next = (i + 1) & 3;
      buf.copy(this.bytes[i], 0, start, end);
      this.lens[i] = n;
      this.strs[i] = s;
    }
    return s;
  }
}
const interned = Array.from({ length: 10 }, () => new Interned());

/**
 * One basic value at `pos` (aligned here), or undefined when it runs past `end` or is not a basic
 * type; `out.pos` moves past it. `slot` interns strings.
 */
function readBasic(buf: Buffer, c: string, pos: number, end: number, fds: number[], out: { pos: number }, slot: Interned | null): unknown {
  const a = ALIGN[c];
  if (a === undefined) return undefined;
  const p = up(pos, a);
  switch (c) {
    case 'y':
      if (p + 1 > end) return undefined;
      out.pos = p + 1;
      return buf[p];
    case 'n':
    case 'q':
      if (p + 2 > end) return undefined;
      out.pos = p + 2;
      return c === 'n' ? buf.readInt16LE(p) : buf.readUInt16LE(p);
    case 'b':
    case 'i':
    case 'u':
    case 'h': {
      if (p + 4 > end) return undefined;
      out.pos = p + 4;
      if (c === 'i') return buf.readInt32LE(p);
      const v = buf.readUInt32LE(p);
      if (c === 'b') return v !== 0;
      if (c === 'h') return v < fds.length ? fds[v] : undefined;
      return v;
    }
    case 'x':
    case 't':
    case 'd':
      if (p + 8 > end) return undefined;
      out.pos = p + 8;
      return c === 'x' ? buf.readBigInt64LE(p) : c === 't' ? buf.readBigUInt64LE(p) : buf.readDoubleLE(p);
    default: {
      // s, o: a u32 length; g: a u8 length; then the bytes and a NUL.
      const wide = c !== 'g';
      if (p + (wide ? 4 : 1) > end) return undefined;
      const len = wide ? buf.readUInt32LE(p) : buf[p];
      const s = p + (wide ? 4 : 1);
      if (s + len + 1 > end) return undefined;
      out.pos = s + len + 1;
      return len === 0 ? '' : slot ? slot.get(buf, s, s + len) : buf.toString('utf8', s, s + len);
    }
  }
}

const cursor = { pos: 0 };

/** A body of basic types and `ay` starting at `pos` and ending exactly at the buffer's end, or null. */
export function readBasicBody(buf: Buffer, pos: number, sig: string, fds: number[]): unknown[] | null {
  const out: unknown[] = [];
  for (let i = 0; i < sig.length; i++) {
    const c = sig.charCodeAt(i);
    if (c === 0x61 /* a */) {
      if (sig.charCodeAt(++i) !== 0x79 /* y */) return null;
      const p = up(pos, 4);
      if (p + 4 > buf.length) return null;
      const len = buf.readUInt32LE(p);
      if (p + 4 + len > buf.length) return null;
      out.push(buf.subarray(p + 4, p + 4 + len));
      pos = p + 4 + len;
      continue;
    }
    const v = readBasic(buf, sig[i], pos, buf.length, fds, cursor, null);
    if (v === undefined) return null;
    out.push(v);
    pos = cursor.pos;
  }
  return pos === buf.length ? out : null;
}

export interface BasicHeader {
  type: number;
  flags: number;
  serial: number;
  fields: Record<string, unknown>;
  fieldsEnd: number;
}

/**
 * The header's fields when every one is a known field of its own type or an unknown one of a
 * basic type (skipped), ending exactly where the header says; otherwise null.
 */
export function readBasicHeader(buf: Buffer): BasicHeader | null {
  const fieldsEnd = 16 + buf.readUInt32LE(12);
  if (fieldsEnd > buf.length) return null;
  const fields: Record<string, unknown> = {};
  let pos = 16;
  while (pos < fieldsEnd) {
    pos = up(pos, 8);
    if (pos + 3 > fieldsEnd) return null;
    const code = buf[pos];
    // The variant's signature: exactly one basic type code.
    if (buf[pos + 1] !== 1 || buf[pos + 3] !== 0) return null;
    const t = String.fromCharCode(buf[pos + 2]);
    const known = code > 0 && code < FIELD_SIG.length;
    if (known && FIELD_SIG[code] !== t) return null;
    const v = readBasic(buf, t, pos + 4, fieldsEnd, [], cursor, known ? interned[code] : null);
    if (v === undefined || t === 'h') return null;
    if (known) fields[FIELD_NAME[code]!] = v;
    pos = cursor.pos;
  }
  if (pos !== fieldsEnd) return null;
  return { type: buf[1], flags: buf[2], serial: buf.readUInt32LE(8), fields, fieldsEnd };
}
