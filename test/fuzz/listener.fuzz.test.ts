import fc from 'fast-check';
import { closeSync, ftruncateSync } from 'node:fs';
import { DRM_FORMAT } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { memfdCreate, sendWithFds } from '../../src/kernel/native-socket';
import { PIXMAN } from '../../src/sources/qemu-listener';
import { closed, listenerCall, listenerRig } from '../helpers/listener-rig';
import { reportFuzz } from '../helpers/report';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const { Variant } = require('dbus-next') as { Variant: new (sig: string, value: unknown) => object };

/**
 * The Display1 listener under a hostile QEMU: well-framed calls with wrong signatures, wrong
 * bodies and wrong fd counts, and calls of the right shape carrying absurd values, sent in runs
 * over a real socketpair to a listener on the simulated card. Whatever comes, the listener
 * answers or refuses, the link ends only as EDF_PEER_PROTOCOL or EDF_PEER_CLOSED (never a fault
 * of ours, EDF_PEER_HANDLER), and every fd QEMU sent is closed. Fixed seeds;
 * DIRECTFLIP_FUZZ_RUNS sets the runs per property.
 */
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 300;
const SEED = 0x11573;
const ENDINGS = ['EDF_PEER_PROTOCOL', 'EDF_PEER_CLOSED'];
let cases = 0;
let host: Host;
jest.setTimeout(Math.max(120_000, RUNS * 40));

beforeAll(() => {
  host = openHost('sim:vkms');
});
afterAll(() => {
  host.close();
  reportFuzz('listener', { suite: 'listener', cases, crashes: 0 });
});

const MEMBERS = ['Scanout', 'Update', 'ScanoutDMABUF', 'UpdateDMABUF', 'Disable', 'CursorDefine', 'MouseSet', 'ScanoutMap', 'Bogus'];

/** A D-Bus type with a generator of its values (no `h`: fds are sent apart, in any number). */
interface Typed {
  sig: string;
  value: fc.Arbitrary<unknown>;
}
const BASIC: Typed[] = [
  { sig: 'y', value: fc.integer({ min: 0, max: 255 }) },
  { sig: 'b', value: fc.boolean() },
  { sig: 'n', value: fc.integer({ min: -32768, max: 32767 }) },
  { sig: 'q', value: fc.integer({ min: 0, max: 65535 }) },
  { sig: 'i', value: fc.integer() },
  { sig: 'u', value: fc.integer({ min: 0, max: 0xffffffff }) },
  { sig: 'x', value: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n) },
  { sig: 't', value: fc.bigInt(0n, 2n ** 64n - 1n) },
  { sig: 'd', value: fc.double({ noNaN: true }) },
  { sig: 's', value: fc.string({ maxLength: 8 }) },
  { sig: 'o', value: fc.constantFrom('/', '/org/qemu') },
  { sig: 'g', value: fc.constantFrom('', 'i', 'a{sv}') },
];
const typed: fc.Arbitrary<Typed> = fc.letrec<{ t: Typed }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...BASIC),
    fc.constant({ sig: 'ay', value: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) }),
    tie('t').map((e) => ({ sig: `a${e.sig}`, value: fc.array(e.value, { maxLength: 3 }) })),
    fc.array(tie('t'), { minLength: 1, maxLength: 3 }).map((es) => ({ sig: `(${es.map((e) => e.sig).join('')})`, value: fc.tuple(...es.map((e) => e.value)) })),
    fc.constantFrom(...BASIC).map((e) => ({ sig: 'v', value: e.value.map((v) => new Variant(e.sig, v)) })),
  ),
})).t;

/** One call: a member with any signature and body, and 0-2 fds sent with it. */
const anyCall = fc
  .tuple(fc.constantFrom(...MEMBERS), fc.array(typed, { maxLength: 5 }), fc.nat(2))
  .chain(([member, types, fds]) => fc.tuple(...types.map((t) => t.value)).map((body) => ({ member, sig: types.map((t) => t.sig).join(''), body, fds, dmabuf: null as null | object })));

/** Calls of the right shape with values a broken or hostile guest could make QEMU send. */
const dim = fc.oneof(fc.integer({ min: -2, max: 80 }), fc.constantFrom(0, 0x7fffffff, -0x80000000, 0xffffffff));
const pix = fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a));
const small = fc.tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 48 }));
const shapedCall = fc.oneof(
  // Consistent ones too, so that frames get shown between the absurd ones.
  small.map(([w, h]) => ({ member: 'Scanout', sig: 'uuuuay', body: [w, h, w * 4, PIXMAN.x8r8g8b8, Buffer.alloc(w * h * 4, 0x5a)] })),
  small.map(([w, h]) => ({ member: 'ScanoutDMABUF', sig: 'huuuutb', body: [], dmabuf: { w, h, stride: w * 4, fourcc: DRM_FORMAT.XRGB8888, modifier: 0n, y0: false, size: 16384, udmabuf: true } })),
  fc.tuple(dim, dim, dim, fc.constantFrom(PIXMAN.x8r8g8b8, PIXMAN.a8r8g8b8, 0, 0x1234), pix).map((b) => ({ member: 'Scanout', sig: 'uuuuay', body: b.map((v, i) => (i < 4 ? Number(v) >>> 0 : v)) })),
  fc.tuple(dim, dim, dim, dim, dim, fc.constantFrom(PIXMAN.x8r8g8b8, 7), pix).map((b) => ({ member: 'Update', sig: 'iiiiuuay', body: b.map((v, i) => (i === 4 || i === 5 ? Number(v) >>> 0 : i < 4 ? Number(v) | 0 : v)) })),
  fc.tuple(dim, dim, dim, dim).map((b) => ({ member: 'UpdateDMABUF', sig: 'iiii', body: b.map((v) => Number(v) | 0) })),
  fc.tuple(dim, dim, dim, dim, pix).map((b) => ({ member: 'CursorDefine', sig: 'iiiiay', body: b.map((v, i) => (i < 4 ? Number(v) | 0 : v)) })),
  fc.tuple(dim, dim, fc.integer({ min: -1, max: 2 })).map((b) => ({ member: 'MouseSet', sig: 'iii', body: b.map((v) => Number(v) | 0) })),
  fc.constant({ member: 'Disable', sig: '', body: [] }),
  fc
    .record({ w: dim, h: dim, stride: dim, fourcc: fc.constantFrom(DRM_FORMAT.XRGB8888, 0, 0x20203852), modifier: fc.constantFrom(0n, 2n ** 64n - 1n, 0x0100000000000001n), y0: fc.boolean(), size: fc.constantFrom(0, 4096, 16384), udmabuf: fc.boolean() })
    .map((d) => ({ member: 'ScanoutDMABUF', sig: 'huuuutb', body: [], dmabuf: d })),
).map((c) => ({ fds: 0, dmabuf: null, ...c }));

type Call = { member: string; sig: string; body: unknown[]; fds: number; dmabuf: null | { w: number; h: number; stride: number; fourcc: number; modifier: bigint; y0: boolean; size: number; udmabuf: boolean } };

/** Plays QEMU for one run of calls, then hangs up; throws when the listener misbehaved. */
async function run(calls: Call[]): Promise<void> {
  const before = fdSnapshot();
  const rig = await listenerRig(host.sim!, { w: 64, h: 48, cursor: true });
  const end = closed(rig.ours);
  const mine: number[] = [];
  try {
    for (const [serial, c] of calls.entries()) {
      let msg: { buf: Buffer; fds: number[] };
      let fds: number[];
      if (c.dmabuf) {
        const fd = memfdCreate('fuzz-dmabuf');
        mine.push(fd);
        if (c.dmabuf.size) ftruncateSync(fd, c.dmabuf.size);
        if (c.dmabuf.udmabuf && c.dmabuf.size) host.sim!.udmabuf(fd);
        const d = c.dmabuf;
        msg = listenerCall(c.member, c.sig, [fd, d.w >>> 0, d.h >>> 0, d.stride >>> 0, d.fourcc, d.modifier, d.y0], serial + 1);
        fds = msg.fds;
      } else {
        try {
          msg = listenerCall(c.member, c.sig, c.body, serial + 1);
        } catch {
          continue; // the marshaller refused the generated value: nothing was sent
        }
        fds = Array.from({ length: c.fds }, () => memfdCreate('fuzz'));
        mine.push(...fds);
      }
      cases++;
      if (rig.ours.listenerCount('close') === 0) break;
      try {
        sendWithFds(rig.qemu.fd, msg.buf, fds);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EPIPE') throw e;
      }
    }
    // Let the listener work through what came, with vblanks so flips complete, then hang up.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      host.sim!.card.advanceVblank();
    }
    rig.qemu.close();
    const err = await end;
    if (!ENDINGS.includes(err?.code ?? '')) throw new Error(`the link ended with ${err?.code}: ${err?.message}`);
  } finally {
    rig.close();
    for (const fd of mine) closeSync(fd);
  }
  const leaked = fdsOpenedSince(before);
  if (leaked.length) throw new Error(`fds leaked: ${leaked.join(', ')}`);
}

test('well-framed calls with any signature, body and fd count', async () => {
  await fc.assert(fc.asyncProperty(fc.array(anyCall, { minLength: 1, maxLength: 4 }), (calls) => run(calls as Call[])), { seed: SEED, numRuns: RUNS });
});

test('calls of the right shape with hostile values (sizes, formats, rectangles, dma-bufs)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(shapedCall, { minLength: 1, maxLength: 6 }), (calls) => run(calls as Call[])), { seed: SEED + 1, numRuns: RUNS });
});
