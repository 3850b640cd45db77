import { writeSync } from 'node:fs';
import { DomainStreams } from '../../src/daemon/streams';
import type { DomainRecord } from '../../src/daemon/journal';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { memfdCreate, sendWithFds, socketPair } from '../../src/kernel/native-socket';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { MESSAGE, NO_REPLY_EXPECTED, PeerLink } from '../../src/sources/dbus-peer';
import { EventHub } from '../../src/sources/pipeline';
import type { Attached } from '../../src/sources/qemu-attach';
import { PIXMAN } from '../../src/sources/qemu-listener';
import { listenerCall } from '../helpers/listener-rig';
import { settleVblanks } from '../helpers/screen';

/**
 * Two domains stream from their own QEMU onto one CRTC, as the daemon runs them. One QEMU turns
 * hostile; its stream alone ends as `failed` with the reason, and the other keeps flipping.
 */
const W = 32;
const H = 24;
let host: Host;
let dev: KmsDevice;
let events: EventHub;
const qemus = new Map<string, PeerLink>();
const domains: DomainStreams[] = [];
const logs: string[] = [];

/** Stands in for the bus helper: a socketpair whose far end plays QEMU. */
async function attach(address: string): Promise<Attached> {
  const [a, b] = socketPair();
  const link = new PeerLink(a, 'client');
  const qemu = new PeerLink(b, 'server');
  await Promise.all([link.open(), qemu.open()]);
  qemus.set(address, qemu);
  const console = { index: 0, label: 'VGA', head: 0, type: 'Graphic', deviceAddress: '', width: W, height: H };
  return { link, console, why: 'console 0 as configured', detach: () => qemu.close() };
}

function record(name: string, planeId: number): DomainRecord {
  const key = 'directflip/output[1]/plane[1]';
  const rect = { x: 0, y: 0, w: W, h: H };
  const plane = { key, from: 'primary' as const, planeId, planeType: 'overlay' as const, fbId: 0, src: rect, dst: rect, zpos: null, setZpos: false };
  const crtc = readCrtc();
  return {
    uuid: `00000000-0000-0000-0000-00000000000${planeId % 10}`, name, state: 'active', restore: 'previous',
    plan: { domain: name, outputs: [{ key: 'directflip/output[1]', connectorId: 0, connector: 'Virtual-1', crtcId: crtc, crtcIndex: 0, mode: { vrefresh: 60 }, modeset: false, planes: [plane] }] },
    sources: { [key]: { source: 'qemu-dbus', why: 'test' } },
    display: { address: `unix:path=/nonexistent/${name}`, wants: { [key]: { console: 0, pci: null } } },
  } as unknown as DomainRecord;
}
const readCrtc = () => dev.getResources().crtcs[0];

const frame = (name: string, shade: number) =>
  qemus.get(`unix:path=/nonexistent/${name}`)!.send({
    type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener',
    member: 'Scanout', signature: 'uuuuay', body: [W, H, W * 4, PIXMAN.x8r8g8b8, Buffer.alloc(W * H * 4, shade)],
  });
const row = (d: DomainStreams) => d.status()[0];
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await settleVblanks(host.sim!, 1);
}

beforeEach(async () => {
  host = openHost('sim:vkms');
  dev = host.sim!.openKms(host.sim!.profile.kms.devPath);
  dev.setMaster();
  events = new EventHub(dev);
  const t = readTopology(dev);
  const overlays = t.planes.filter((p) => p.type === 'overlay').map((p) => p.id);
  for (const [name, plane] of [['guest-a', overlays[1]], ['guest-b', overlays[2]]] as const) {
    const d = new DomainStreams(host, dev, events, record(name, plane), (m) => logs.push(m), attach);
    d.start(t);
    domains.push(d);
  }
  await until(() => domains.every((d) => row(d).state === 'streaming'));
});

afterEach(() => {
  for (const d of domains.splice(0)) {
    d.stop();
    d.free();
  }
  for (const q of qemus.values()) q.close();
  qemus.clear();
  logs.length = 0;
  dev.close();
  host.close();
});

const header = (f: (h: Buffer) => void) => {
  const { buf } = listenerCall('UpdateDMABUF', 'iiii', [0, 0, 1, 1], 9);
  f(buf);
  return buf;
};
const MALFORMED: [string, (q: PeerLink) => void, RegExp][] = [
  ['a bad header (no endianness mark)', (q) => writeSync(q.fd, header((h) => (h[0] = 0x58))), /byte 0x58 is not an endianness mark/],
  ['a wrong body signature', (q) => void q.send({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener', member: 'UpdateDMABUF', signature: 'us', body: [1, 'x'] }), /UpdateDMABUF came with the signature "us", not "iiii"/],
  ['a forbidden signature (an empty struct in an array)', (q) => writeSync(q.fd, rawWithSignature('a()')), /has an empty struct/],
  ['more fds announced than sent', (q) => {
    const { buf } = listenerCall('ScanoutDMABUF', 'huuuutb', [memfdCreate('x'), W, H, W * 4, 0x34325258, 0n, false], 9);
    sendWithFds(q.fd, buf, []);
  }, /announces 1 file descriptors but came with 0/],
  ['fds on a call that takes none', (q) => {
    const m = memfdCreate('stray');
    const { buf } = listenerCall('Disable', 'h', [m], 9);
    sendWithFds(q.fd, buf, [m]);
  }, /Disable came with 1 file descriptors, not 0/],
  ['a truncated body (its values run past its length)', (q) => writeSync(q.fd, header((h) => h.writeUInt32LE(8, 4)).subarray(0, -8)), /a message could not be read|values end/],
  ['a huge length field', (q) => writeSync(q.fd, header((h) => h.writeUInt32LE(0xfffffff0, 4)).subarray(0, 16)), /exceeds the D-Bus limit/],
];

/** A well-framed call whose header's signature `aiy` is replaced by `sig` (as long). */
function rawWithSignature(sig: string): Buffer {
  const { buf } = listenerCall('Disable', 'aiy', [[7], 0], 9);
  const at = buf.indexOf(Buffer.from('\x03aiy\0', 'latin1'));
  buf.write(sig, at + 1, 'latin1');
  return buf;
}

test.each(MALFORMED)('%s fails that stream only; the other domain keeps flipping', async (_what, send, reason) => {
  const [a, b] = domains;
  frame('guest-a', 1);
  frame('guest-b', 2);
  await until(() => row(a).flipped > 0 && row(b).flipped > 0);
  send(qemus.get('unix:path=/nonexistent/guest-a')!);
  await until(() => row(a).state === 'failed');
  expect(row(a)).toMatchObject({ state: 'failed', detail: expect.stringMatching(reason) });
  expect(logs.join('\n')).toMatch(reason);
  const before = row(b).flipped;
  for (let i = 0; i < 5; i++) {
    frame('guest-b', 10 + i);
    await until(() => row(b).flipped > before + i);
  }
  expect(row(b)).toMatchObject({ state: 'streaming' });
  expect(row(b).flipped - before).toBe(5);
  // A's stream is over: what its QEMU sends now is not read.
  expect(row(a).state).toBe('failed');
});
