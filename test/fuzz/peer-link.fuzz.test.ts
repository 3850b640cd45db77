import fc from 'fast-check';
import { closeSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { memfdCreate, sendWithFds } from '../../src/kernel/native-socket';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE } from '../../src/sources/dbus-peer';
import { closed, listenerCall, peerPair } from '../helpers/listener-rig';
import { reportFuzz } from '../helpers/report';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const marshall = require('dbus-next/lib/marshall') as (sig: string, value: unknown[], offset?: number) => Buffer;

/**
 * The peer link's reader under hostile bytes, over a real socketpair: whatever QEMU sends, the
 * link either hands over well-formed messages or closes with EDF_PEER_PROTOCOL (or, at the end of
 * the bytes, EDF_PEER_CLOSED). Nothing escapes the fd callback, nothing hangs, no fd leaks.
 * Fixed seed; DIRECTFLIP_FUZZ_RUNS sets the runs per property for a longer search.
 */
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 300;
const SEED = 0x0d1f;
const FIXTURES = join(__dirname, '..', 'fixtures', 'fuzz', 'peer');
const ENDINGS = ['EDF_PEER_PROTOCOL', 'EDF_PEER_CLOSED'];
let cases = 0;
jest.setTimeout(Math.max(120_000, RUNS * 10));


/** Sends `chunks` (each with its fds) to a fresh link, then hangs up; returns what the link did. */
async function feed(chunks: { buf: Buffer; fds?: number[] }[]): Promise<{ code: string | undefined; message: string; got: PeerMessage[] }> {
  const { ours, qemu } = await peerPair();
  const got: PeerMessage[] = [];
  ours.on('message', (m: PeerMessage) => {
    got.push(m);
    for (const fd of m.fds) closeSync(fd);
  });
  const end = closed(ours);
  for (const c of chunks) {
    if (ours.listenerCount('close') === 0) break; // closed on an earlier chunk: nobody reads
    try {
      if (c.buf.length) sendWithFds(qemu.fd, c.buf, c.fds ?? []);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EPIPE' && (e as { code?: string }).code !== 'ECONNRESET') throw e;
    }
  }
  qemu.close();
  const err = await end;
  return { code: err?.code, message: err?.message ?? '', got };
}

/** A property run: the link ends as it may, messages are well-formed, and fds come out even. */
async function survives(sends: { buf: Buffer; fds?: number }[]): Promise<void> {
  cases++;
  const before = fdSnapshot();
  const chunks = sends.map((c) => ({ buf: c.buf, fds: Array.from({ length: c.fds ?? 0 }, () => memfdCreate('fuzz')) }));
  const r = await feed(chunks);
  for (const c of chunks) for (const fd of c.fds) closeSync(fd);
  if (!ENDINGS.includes(r.code ?? '')) throw new Error(`the link ended with ${r.code}: ${r.message}`);
  for (const m of r.got) if (!Array.isArray(m.body) || !Array.isArray(m.fds) || typeof m.serial !== 'number') throw new Error(`a malformed message was handed over: ${JSON.stringify(m)}`);
  const leaked = fdsOpenedSince(before);
  if (leaked.length) throw new Error(`fds leaked: ${leaked.join(', ')}`);
}

/**
 * A message of header fields (code, type, value) and raw body bytes, framed correctly. The fields
 * are written by hand: dbus-next's marshaller refuses the broken signatures this is meant to send.
 */
function framed(type: number, serial: number, fields: [number, string, unknown][], body: Buffer): Buffer {
  const out: number[] = [];
  const align = (n: number) => {
    while (out.length % n) out.push(0);
  };
  const u32 = (v: number) => {
    align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    out.push(...b);
  };
  const str = (v: string, short: boolean) => {
    const b = Buffer.from(v, 'latin1');
    if (short) out.push(b.length & 0xff);
    else u32(b.length);
    out.push(...b, 0);
  };
  for (const [code, sig, v] of fields) {
    align(8);
    out.push(code & 0xff);
    str(sig, true);
    if (sig === 'u') u32(Number(v));
    else str(String(v), sig === 'g');
  }
  const f = Buffer.from(out);
  const head = Buffer.alloc(16);
  head.set([108, type, 0, 1]);
  head.writeUInt32LE(body.length, 4);
  head.writeUInt32LE(serial, 8);
  head.writeUInt32LE(f.length, 12);
  return Buffer.concat([head, f, Buffer.alloc((8 - (f.length % 8)) % 8), body]);
}

const SIG_CHARS = [...'ybnqiuxtdsogvhae(){}m*'];
const signature = fc.array(fc.constantFrom(...SIG_CHARS), { maxLength: 12 }).map((a) => a.join(''));
const fieldArb = fc.oneof(
  fc.tuple(fc.constant(1), fc.constantFrom('o', 's', 'u'), fc.constantFrom('/org/qemu/Display1/Listener', '/', 'x')),
  fc.tuple(fc.constant(3), fc.constant('s'), fc.constantFrom('Scanout', 'UpdateDMABUF', 'ScanoutDMABUF', '')),
  fc.tuple(fc.constant(8), fc.constant('g'), signature),
  fc.tuple(fc.constant(9), fc.constant('u'), fc.nat(4)),
  fc.tuple(fc.constant(5), fc.constantFrom('u', 's'), fc.constantFrom(1, 'x')),
  fc.tuple(fc.integer({ min: 10, max: 255 }), fc.constant('s'), fc.constant('unknown field')),
);
const valid = () => [
  listenerCall('UpdateDMABUF', 'iiii', [0, 0, 4, 4]).buf,
  listenerCall('MouseSet', 'iii', [1, 2, 1]).buf,
  listenerCall('Scanout', 'uuuuay', [2, 2, 8, 0x20020888, Buffer.alloc(16, 7)]).buf,
  listenerCall('CursorDefine', 'iiiiay', [1, 1, 0, 0, Buffer.alloc(4)]).buf,
  framed(MESSAGE.METHOD_RETURN, 3, [[5, 'u', 1], [8, 'g', 'a{sv}']], marshall('a{sv}', [[]])),
];

test('random bytes after the handshake', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), (b) => survives([{ buf: Buffer.from(b) }])), { seed: SEED, numRuns: RUNS });
});

test('random bytes behind a plausible first 4 bytes (little-endian, a message type, version 1)', async () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.uint8Array({ minLength: 12, maxLength: 300 }));
  await fc.assert(fc.asyncProperty(arb, ([type, rest]) => survives([{ buf: Buffer.concat([Buffer.from([108, type, 0, 1]), Buffer.from(rest)]) }])), { seed: SEED + 1, numRuns: RUNS });
});

test('well-framed messages with random header fields, signatures and bodies', async () => {
  const arb = fc.record({ type: fc.integer({ min: 1, max: 4 }), serial: fc.nat(5), fields: fc.array(fieldArb, { maxLength: 5 }), body: fc.uint8Array({ maxLength: 64 }), fds: fc.nat(3) });
  await fc.assert(
    fc.asyncProperty(arb, (a) => survives([{ buf: framed(a.type, a.serial, a.fields, Buffer.from(a.body)), fds: a.fds }])),
    { seed: SEED + 2, numRuns: RUNS },
  );
});

test('valid messages with bytes changed, cut short or run together', async () => {
  const arb = fc.record({
    which: fc.nat(4),
    edits: fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(400)),
    then: fc.nat(4),
  });
  await fc.assert(
    fc.asyncProperty(arb, (a) => {
      const msgs = valid();
      const buf = Buffer.from(msgs[a.which]);
      for (const [at, v] of a.edits) buf[at % buf.length] = v;
      const first = a.cut === null ? buf : buf.subarray(0, a.cut % (buf.length + 1));
      return survives([{ buf: first }, { buf: msgs[a.then] }]);
    }),
    { seed: SEED + 3, numRuns: RUNS },
  );
});

/** Inputs that once broke the reader, kept as they were found. */
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
test.each(fixtures)('regression fixture %s: the link closes with the protocol error, nothing hangs or leaks', async (name) => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { hex: string; fds: number; expect: string };
  const before = fdSnapshot();
  const fds = Array.from({ length: fx.fds }, () => memfdCreate('fixture'));
  const r = await feed([{ buf: Buffer.from(fx.hex, 'hex'), fds }]);
  for (const fd of fds) closeSync(fd);
  expect(r.code).toBe('EDF_PEER_PROTOCOL');
  expect(r.message).toMatch(new RegExp(fx.expect));
  expect(fdsOpenedSince(before)).toEqual([]);
});

test('what the link reads after the fuzzing is still right', async () => {
  const { ours, qemu } = await peerPair();
  const got = new Promise<PeerMessage>((r) => ours.once('message', r));
  writeSync(qemu.fd, listenerCall('MouseSet', 'iii', [3, 4, 1]).buf);
  expect((await got).body).toEqual([3, 4, 1]);
  ours.close();
  qemu.close();
});

afterAll(() => reportFuzz('peer-link', { suite: 'peer-link', cases, crashes: 0 }));
