import type { BasicHeader } from './wire-basic';
import { readBasicBody, readBasicHeader } from './wire-basic';

/** What dbus-next's internal reader offers (it ships no types for it). */
interface SigNode {
  type: string;
  child: SigNode[];
}
interface DBusReader {
  pos: number;
  read(sig: string): unknown[];
  readSimpleType(t: string): unknown;
  readStruct(tree: SigNode[]): unknown[];
}

/* eslint-disable @typescript-eslint/no-require-imports */
// dbus-next's reader, behind the checks it lacks: it accepts signatures the specification
// forbids (`a()` reads nothing per element and loops for ever), lets a header field be of any
// type, and reads past the end of a body without noticing.
const DBusBuffer = require('dbus-next/lib/dbus-buffer') as new (buf: Buffer, start: number, endian: number, fds: number[], opts: object) => DBusReader;
const { parseSignature } = require('dbus-next/lib/signature') as { parseSignature: (sig: string) => SigNode[] };
const constants = require('dbus-next/lib/constants') as { headerTypeName: (string | null)[] };
/* eslint-enable @typescript-eslint/no-require-imports */

/** The peer broke the D-Bus wire protocol: the link cannot be trusted past this message. */
export class PeerProtocolError extends Error {
  readonly code = 'EDF_PEER_PROTOCOL';
}

/** The D-Bus specification's maximum message length (a 4K scanout is a quarter of it). */
export const MAX_MESSAGE = 128 * 1024 * 1024;
const LE = 'l'.charCodeAt(0);
const BASIC = 'ybnqiuxtdsogh';
/** What each header field must hold (the specification's table). */
const FIELD_TYPE: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u' };
const MAX_VARIANT_DEPTH = 64;

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * Text the peer chose, for a message: quoted, escaped (a NUL or a newline cannot reach a log
 * line or a D-Bus string, which may not hold a NUL) and cut to 64 characters.
 */
export function quoted(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
const bad = (why: string): never => {
  throw new PeerProtocolError(why);
};

/**
 * Checks a signature against the specification: known type codes only, non-empty structs, dict
 * entries only as array elements with a basic key and one value, at most 255 characters and 32
 * levels each of arrays and structs. `single`: exactly one complete type (a variant's).
 */
export function checkSignature(sig: string, single = false): void {
  if (sig.length > 255) bad(`a signature of ${sig.length} characters exceeds 255`);
  let i = 0;
  const one = (arrays: number, structs: number): void => {
    const c = sig[i++];
    if (c === undefined) return bad(`signature ${quoted(sig)} ends inside a type`);
    if (BASIC.includes(c) || c === 'v') return;
    if (c === 'a') {
      if (arrays >= 32) bad(`signature ${quoted(sig)} nests arrays deeper than 32`);
      if (sig[i] === '{') {
        i++;
        if (!BASIC.includes(sig[i++] ?? '')) bad(`signature ${quoted(sig)} has a dict entry whose key is not a basic type`);
        one(arrays + 1, structs + 1);
        if (sig[i++] !== '}') bad(`signature ${quoted(sig)} has a dict entry without exactly one value`);
        return;
      }
      return one(arrays + 1, structs);
    }
    if (c === '(') {
      if (structs >= 32) bad(`signature ${quoted(sig)} nests structs deeper than 32`);
      if (sig[i] === ')') bad(`signature ${quoted(sig)} has an empty struct`);
      while (sig[i] !== ')') one(arrays, structs + 1);
      i++;
      return;
    }
    bad(`signature ${quoted(sig)} has the type code ${quoted(c)}, which D-Bus does not define`);
  };
  let types = 0;
  while (i < sig.length) {
    one(0, 0);
    types++;
  }
  if (single && types !== 1) bad(`a variant's signature ${quoted(sig)} is not one complete type`);
}

/** A reader whose variants are checked before they are read, and nested at most 64 deep. */
class CheckedBuffer extends DBusBuffer {
  private depth = 0;
  constructor(buf: Buffer, fds: number[]) {
    super(buf, 0, LE, fds, {});
  }

  readVariant(): unknown {
    const sig = this.readSimpleType('g') as string;
    checkSignature(sig, true);
    if (++this.depth > MAX_VARIANT_DEPTH) bad(`variants nest deeper than ${MAX_VARIANT_DEPTH}`);
    const tree = parseSignature(sig);
    const v = [tree, this.readStruct(tree)];
    this.depth--;
    return v;
  }
}

/** The message's length from its first 16 bytes, or why those bytes cannot start one. */
export function messageLength(head: Buffer): number {
  if (head[0] !== LE) bad(head[0] === 'B'.charCodeAt(0) ? 'big-endian messages are not supported' : `byte 0x${head[0].toString(16)} is not an endianness mark`);
  if (head[1] < 1 || head[1] > 4) bad(`message type ${head[1]} is not one D-Bus defines`);
  if (head[3] !== 1) bad(`protocol version ${head[3]} is not 1`);
  // Plain arithmetic: `<< 3` on a length of 2^31 wraps negative, and a negative total once
  // read past the buffer.
  const total = pad8(16 + head.readUInt32LE(12)) + head.readUInt32LE(4);
  if (total > MAX_MESSAGE) bad(`a ${total}-byte message exceeds the D-Bus limit of ${MAX_MESSAGE} bytes`);
  return total;
}

export interface Header {
  type: number;
  flags: number;
  serial: number;
  fields: Record<string, unknown>;
  unixFds: number;
  bodyStart: number;
}

/** What each message type must carry (the specification's table). */
const NEED: Record<number, string[]> = { 1: ['path', 'member'], 2: ['replySerial'], 3: ['replySerial', 'errorName'], 4: ['path', 'interface', 'member'] };
/** Signatures already found valid: a peer repeats the same few, and checking allocates. */
const validSigs = new Set<string>();

function checkSignatureCached(sig: string): void {
  if (validSigs.has(sig)) return;
  checkSignature(sig);
  if (validSigs.size >= 256) validSigs.clear(); // a peer sending endless new ones gains nothing
  validSigs.add(sig);
}

/** The general reader of the header: any field of any type, each checked. */
function readHeaderChecked(buf: Buffer): BasicHeader {
  const r = new CheckedBuffer(buf, []);
  const head = r.read('yyyyuua(yv)') as [number, number, number, number, number, number, [number, [{ type: string }[], unknown[]]][]];
  const fields: Record<string, unknown> = {};
  for (const [code, [tree, value]] of head[6]) {
    const want = FIELD_TYPE[code];
    if (!want) continue; // unknown fields are ignored, as the specification says
    if (tree.length !== 1 || tree[0].type !== want) bad(`header field ${code} must be of type ${want}`);
    fields[constants.headerTypeName[code]!] = value[0];
  }
  const fieldsEnd = 16 + buf.readUInt32LE(12);
  if (r.pos !== fieldsEnd) bad('the header fields do not end where their length says');
  return { type: head[1], flags: head[2], serial: head[5], fields, fieldsEnd };
}

/** The header of a whole message (`buf` is exactly its bytes), with every field's type checked. */
export function readHeader(buf: Buffer): Header {
  // The frame path's messages take the direct reader; anything unusual, the general one.
  const { type, flags, serial, fields, fieldsEnd } = readBasicHeader(buf) ?? readHeaderChecked(buf);
  const bodyStart = pad8(fieldsEnd);
  if (serial === 0) bad('a message with serial 0');
  const need = NEED[type];
  for (let i = 0; i < need.length; i++) if (fields[need[i]] === undefined) bad(`a message of type ${type} without its ${need[i]} field`);
  const sig = (fields.signature as string | undefined) ?? '';
  checkSignatureCached(sig);
  const bodyLen = buf.length - bodyStart;
  if (!sig && bodyLen) bad(`a ${bodyLen}-byte body without a signature`);
  return { type, flags, serial, fields, unixFds: Number(fields.unixFd ?? 0), bodyStart };
}

/** The body, read to exactly its end; `fds` are the message's own (its header's count). */
export function readBody(buf: Buffer, h: Header, fds: number[]): unknown[] {
  const sig = (h.fields.signature as string | undefined) ?? '';
  if (!sig) return [];
  const b = new CheckedBuffer(buf, fds);
  b.pos = h.bodyStart;
  const body = b.read(sig);
  if (b.pos !== buf.length) bad(`the body of signature ${quoted(sig)} is ${buf.length - h.bodyStart} bytes, but its values end at byte ${b.pos - h.bodyStart}`);
  return body;
}

/**
 * The body as the link hands it on (dbus-next's JS form): basic types and `ay` directly, `null`
 * when the general reader and dbus-next's conversion must do it (`readBody`, then messageToJsFmt).
 */
export function readBodyDirect(buf: Buffer, h: Header, fds: number[]): unknown[] | null {
  const sig = (h.fields.signature as string | undefined) ?? '';
  if (!sig) return [];
  return readBasicBody(buf, h.bodyStart, sig, fds);
}
