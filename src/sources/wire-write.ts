/**
 * Marshalling of the frame path's messages (our replies, the harnesses' Listener calls) straight
 * into a reused buffer: header fields in dbus-next's order (present when truthy, as it writes
 * them), a body of basic types and `ay`. Anything else, or a value dbus-next would refuse or
 * convert (a NUL in a string, a number out of range, a non-boolean for `b`), returns -1 and goes
 * to dbus-next's marshaller, which decides it as before.
 */
import { FIELD_NAME, FIELD_SIG } from './wire-basic';

const up = (pos: number, a: number) => (pos + a - 1) & ~(a - 1);
const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1 };
const RANGE: Record<string, [number, number]> = { y: [0, 0xff], n: [-0x8000, 0x7fff], q: [0, 0xffff], i: [-0x80000000, 0x7fffffff], u: [0, 0xffffffff], h: [0, 0x7fffffff] };

/** Where a write runs out of room: the caller retries with a bigger buffer. */
const FULL = -2;

function zero(buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) buf[i] = 0;
}

/** Writes `v` of basic type `c` at `pos`; the new position, -1 (not ours to write) or FULL. */
function writeBasic(buf: Buffer, pos: number, c: string, v: unknown, fds: number[]): number {
  const a = ALIGN[c];
  if (a === undefined) return -1;
  const p = up(pos, a);
  if (p + 8 > buf.length) return FULL;
  zero(buf, pos, p);
  const r = RANGE[c];
  if (r) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < r[0] || v > r[1]) return -1;
    if (c === 'y') buf[p] = v;
    else if (c === 'n') buf.writeInt16LE(v, p);
    else if (c === 'q') buf.writeUInt16LE(v, p);
    else if (c === 'i') buf.writeInt32LE(v, p);
    else if (c === 'u') buf.writeUInt32LE(v, p);
    else {
      buf.writeUInt32LE(fds.length, p);
      fds.push(v);
    }
    return p + (c === 'y' ? 1 : c === 'n' || c === 'q' ? 2 : 4);
  }
  switch (c) {
    case 'b':
      if (typeof v !== 'boolean') return -1;
      buf.writeUInt32LE(v ? 1 : 0, p);
      return p + 4;
    case 't':
    case 'x':
      if (typeof v !== 'bigint') return -1;
      if (c === 't' ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 63n) return -1;
      if (c === 't') buf.writeBigUInt64LE(v, p);
      else buf.writeBigInt64LE(v, p);
      return p + 8;
    case 'd':
      if (typeof v !== 'number') return -1;
      buf.writeDoubleLE(v, p);
      return p + 8;
    default: {
      if (typeof v !== 'string' || v.includes('\0')) return -1;
      const wide = c !== 'g';
      const s = p + (wide ? 4 : 1);
      if (s + Buffer.byteLength(v) + 1 > buf.length) return FULL;
      const n = buf.write(v, s, 'utf8');
      if (wide) buf.writeUInt32LE(n, p);
      else if (n > 255) return -1;
      else buf[p] = n;
      buf[s + n] = 0;
      return s + n + 1;
    }
  }
}

/** The message fields marshalBasic reads (PeerLink's outgoing message, without serial and body). */
export interface Outgoing {
  type: number;
  flags: number;
  signature?: string;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
}

/**
 * Marshals `m` into `buf`; the fds its `h` values name are appended to `fds`. Returns the
 * message's length, -1 when dbus-next must marshal it, or FULL (-2) when `buf` is too small.
 */
export function marshalBasic(m: Outgoing, serial: number, body: unknown[], buf: Buffer, fds: number[]): number {
  const sig = m.signature ?? '';
  // The body first, at its final offset, needs the header's length: write the header with a
  // placeholder UNIX_FDS when the signature has fds, then the body.
  const hasFds = sig.includes('h');
  buf[0] = 0x6c; // 'l'
  buf[1] = m.type;
  buf[2] = m.flags;
  buf[3] = 1;
  buf.writeUInt32LE(serial, 8);
  let pos = 16;
  let fdsAt = -1;
  for (let code = 1; code < FIELD_NAME.length; code++) {
    const v = code === 9 ? (hasFds ? 1 : 0) : code === 8 ? sig : (m as unknown as Record<string, unknown>)[FIELD_NAME[code]!];
    if (!v) continue;
    const p = up(pos, 8);
    if (p + 4 > buf.length) return FULL;
    zero(buf, pos, p);
    buf[p] = code;
    buf[p + 1] = 1;
    buf[p + 2] = FIELD_SIG[code].charCodeAt(0);
    buf[p + 3] = 0;
    if (code === 9) fdsAt = up(p + 4, 4);
    pos = writeBasic(buf, p + 4, FIELD_SIG[code], v, fds);
    if (pos < 0) return pos;
  }
  buf.writeUInt32LE(pos - 16, 12);
  const bodyStart = up(pos, 8);
  if (bodyStart > buf.length) return FULL;
  zero(buf, pos, bodyStart);
  pos = bodyStart;
  const first = fds.length;
  let k = 0;
  for (let i = 0; i < sig.length; i++, k++) {
    const c = sig[i];
    if (c === 'a') {
      const v = body[k];
      if (sig[++i] !== 'y' || !Buffer.isBuffer(v)) return -1;
      const p = up(pos, 4);
      if (p + 4 + v.length > buf.length) return FULL;
      zero(buf, pos, p);
      buf.writeUInt32LE(v.length, p);
      v.copy(buf, p + 4);
      pos = p + 4 + v.length;
      continue;
    }
    pos = writeBasic(buf, pos, c, body[k], fds);
    if (pos < 0) return pos;
  }
  if (k !== body.length) return -1;
  buf.writeUInt32LE(pos - bodyStart, 4);
  if (fdsAt >= 0) buf.writeUInt32LE(fds.length - first, fdsAt);
  return pos;
}
