import fc from 'fast-check';
import { readBody, readHeader } from '../../src/sources/dbus-wire';
import { readBasicBody, readBasicHeader } from '../../src/sources/wire-basic';
import { marshalBasic } from '../../src/sources/wire-write';

/* eslint-disable @typescript-eslint/no-require-imports */
const { marshallMessage, messageToJsFmt } = require('dbus-next/lib/marshall-compat') as { marshallMessage: (m: object) => [Buffer, number[]]; messageToJsFmt: (m: object) => { body: unknown[] } };
const DBusBuffer = require('dbus-next/lib/dbus-buffer') as new (buf: Buffer, start: number, endian: number, fds: number[], opts: object) => { pos: number; read(sig: string): unknown[] };
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The frame path's direct reader and writer (wire-basic, wire-write) are shortcuts: on every
 * message they take, they must give exactly what dbus-next's general machinery gives (the same
 * bytes out, the same values in), and they must hand back (null, -1) what they do not take.
 */
const SEED = 0x16;
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 300;

const basic = fc.constantFrom('y', 'b', 'n', 'q', 'i', 'u', 'h', 'x', 't', 'd', 's', 'o', 'g', 'ay');
const str = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0'));
const value = (c: string): fc.Arbitrary<unknown> =>
  ({
    y: fc.integer({ min: 0, max: 255 }),
    b: fc.boolean(),
    n: fc.integer({ min: -0x8000, max: 0x7fff }),
    q: fc.integer({ min: 0, max: 0xffff }),
    i: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    u: fc.integer({ min: 0, max: 0xffffffff }),
    h: fc.integer({ min: 3, max: 1000 }),
    x: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    t: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    d: fc.double({ noNaN: true }),
    s: str,
    o: fc.constantFrom('/', '/org/qemu/Display1/Listener', '/a/b_c'),
    g: fc.constantFrom('', 'huuuutb', 'iiii', 'a{sv}'),
    ay: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  })[c]!;
const message = fc
  .tuple(fc.array(basic, { maxLength: 8 }), fc.constantFrom(1, 2, 3, 4), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 0xffffffff }))
  .chain(([types, type, flags, serial]) =>
    fc.record({
      type: fc.constant(type), flags: fc.constant(flags), serial: fc.constant(serial), signature: fc.constant(types.join('')),
      body: types.length ? fc.tuple(...types.map(value)) : fc.constant([]),
      path: fc.option(fc.constantFrom('/org/qemu/Display1/Listener', '/x'), { nil: undefined }),
      interface: fc.option(fc.constantFrom('org.qemu.Display1.Listener', 'org.freedesktop.DBus.Properties'), { nil: undefined }),
      member: fc.option(fc.constantFrom('ScanoutDMABUF', 'UpdateDMABUF', 'GetAll'), { nil: undefined }),
      errorName: fc.option(fc.constantFrom('org.freedesktop.DBus.Error.Failed'), { nil: undefined }),
      replySerial: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
      destination: fc.option(str, { nil: undefined }),
    }),
  );

const scratch = Buffer.alloc(64 * 1024);

describe('the frame path\'s direct D-Bus reader and writer agree with dbus-next', () => {
  test('every message the writer takes is byte for byte what dbus-next marshals, fds alike', () => {
    let taken = 0;
    fc.assert(
      fc.property(message, (m) => {
        const fds: number[] = [];
        const n = marshalBasic(m, m.serial, m.body, scratch, fds);
        const [want, wantFds] = marshallMessage({ ...m, body: [...m.body] });
        if (n < 0) return;
        taken++;
        expect(scratch.subarray(0, n).equals(want)).toBe(true);
        expect(fds).toEqual(wantFds);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(taken).toBeGreaterThan(RUNS / 2);
  });

  test('every message the reader takes reads as dbus-next reads it (header fields, body values)', () => {
    fc.assert(
      fc.property(message, (msg) => {
        // What each type must carry, so that readHeader's own checks pass.
        const m = { ...msg, path: msg.path ?? '/x', member: msg.member ?? 'M', interface: msg.interface ?? 'a.b', replySerial: msg.replySerial || 1, errorName: msg.errorName ?? 'a.Error' };
        const [buf, fds] = marshallMessage({ ...m, body: [...m.body] });
        const fast = readBasicHeader(buf);
        expect(fast).not.toBeNull(); // every field here is of its own type: the direct path takes it
        const h = readHeader(buf);
        const r = new DBusBuffer(buf, 0, 'l'.charCodeAt(0), [], {});
        const head = r.read('yyyyuua(yv)') as unknown[];
        expect([fast!.type, fast!.flags, fast!.serial]).toEqual([head[1], head[2], head[5]]);
        const sig = (h.fields.signature as string | undefined) ?? '';
        const direct = readBasicBody(buf, h.bodyStart, sig, fds);
        expect(direct).not.toBeNull();
        const general = messageToJsFmt({ signature: sig, body: sig ? readBody(buf, h, fds) : [] }).body;
        expect(direct).toEqual(general);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('what the shortcuts do not take goes to the general path: containers, variants, short bodies, NULs', () => {
    const [buf] = marshallMessage({ type: 1, flags: 0, serial: 1, path: '/x', member: 'M', signature: 'a{sv}', body: [{}] });
    const h = readHeader(buf);
    expect(readBasicBody(buf, h.bodyStart, 'a{sv}', [])).toBeNull();
    const [short] = marshallMessage({ type: 1, flags: 0, serial: 1, path: '/x', member: 'M', signature: 'uu', body: [1, 2] });
    expect(readBasicBody(short.subarray(0, short.length - 2), readHeader(short).bodyStart, 'uu', [])).toBeNull();
    // An `h` naming an fd the message did not bring: the general reader names that fault.
    const [fdMsg] = marshallMessage({ type: 1, flags: 0, serial: 1, path: '/x', member: 'M', signature: 'h', body: [5] });
    expect(readBasicBody(fdMsg, readHeader(fdMsg).bodyStart, 'h', [])).toBeNull();
    expect(marshalBasic({ type: 2, flags: 1, replySerial: 1, signature: 's' }, 2, ['a\0b'], scratch, [])).toBe(-1);
    expect(marshalBasic({ type: 2, flags: 1, replySerial: 1, signature: 'u' }, 2, [-1], scratch, [])).toBe(-1);
    expect(marshalBasic({ type: 2, flags: 1, replySerial: 1, signature: 'v' }, 2, [1], scratch, [])).toBe(-1);
    expect(marshalBasic({ type: 2, flags: 1, replySerial: 1, signature: 'ay' }, 2, [Buffer.alloc(70_000)], scratch, [])).toBe(-2);
  });
});
