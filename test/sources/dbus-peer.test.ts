import { closeSync, fstatSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { memfdCreate, sendWithFds, socketPair } from '../../src/kernel/native-socket';
import { MESSAGE, NO_REPLY_EXPECTED, PeerLink } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';

const openFds = () => readdirSync('/proc/self/fd').length;
const LISTENER = 'org.qemu.Display1.Listener';

/** The other end of a socketpair, playing QEMU: the SASL server, then a sender of display calls. */
async function pair(): Promise<{ ours: PeerLink; qemu: PeerLink }> {
  const [a, b] = socketPair();
  const ours = new PeerLink(a, 'client');
  const qemu = new PeerLink(b, 'server');
  await Promise.all([ours.open(), qemu.open()]);
  return { ours, qemu };
}

test('the handshake completes both ways over a real socketpair', async () => {
  const { ours, qemu } = await pair();
  ours.close();
  qemu.close();
});

test('50 calls alternating plain messages and ScanoutDMABUF: each message gets exactly its own fds', async () => {
  const before = fdSnapshot();
  const { ours, qemu } = await pair();
  const got: PeerMessage[] = [];
  ours.on('message', (m: PeerMessage) => {
    got.push(m);
    if (m.member === 'UpdateDMABUF') ours.reply(m);
  });
  const replies: PeerMessage[] = [];
  qemu.on('message', (m: PeerMessage) => replies.push(m));
  const mems: number[] = [];
  for (let i = 0; i < 50; i++) {
    if (i % 2) {
      const mem = memfdCreate(`frame${i}`);
      writeSync(mem, Buffer.from(`frame ${i}`), 0, undefined, 0);
      mems.push(mem);
      qemu.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'ScanoutDMABUF', signature: 'huuuutb', body: [mem, 640, 480, 2560, 0x34325258, 0n, true] });
    } else {
      qemu.send({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'UpdateDMABUF', signature: 'iiii', body: [0, 0, 640, 480] });
    }
  }
  for (let i = 0; i < 100 && (got.length < 50 || replies.length < 25); i++) await new Promise((r) => setTimeout(r, 5));
  expect(got).toHaveLength(50);
  got.forEach((m, i) => {
    if (i % 2) {
      expect(m.member).toBe('ScanoutDMABUF');
      expect(m.fds).toHaveLength(1);
      expect(m.body[0]).toBe(m.fds[0]);
      expect(m.body.slice(1)).toEqual([640, 480, 2560, 0x34325258, 0n, true]);
      // The fd is the memfd QEMU sent, with its contents.
      expect(readFileSync(`/proc/self/fd/${m.fds[0]}`, 'utf8')).toBe(`frame ${i}`);
      expect(fstatSync(m.fds[0]).ino).toBe(fstatSync(mems[(i - 1) / 2]).ino);
    } else {
      expect([m.member, m.fds]).toEqual(['UpdateDMABUF', []]);
    }
  });
  // UpdateDMABUF blocks the guest's GL until answered: every one got its reply.
  expect(replies.filter((r) => r.type === MESSAGE.METHOD_RETURN)).toHaveLength(25);
  for (const m of got) for (const fd of m.fds) closeSync(fd);
  for (const fd of mems) closeSync(fd);
  ours.close();
  qemu.close();
  expect(fdsOpenedSince(before)).toEqual([]);
});

test('a refused handshake rejects open() and closes the link', async () => {
  const [a, b] = socketPair();
  const ours = new PeerLink(a, 'client');
  const opening = ours.open();
  // A server that answers with REJECTED.
  const fake = new PeerLink(b, 'client');
  writeSync(b, 'REJECTED EXTERNAL\r\n');
  await expect(opening).rejects.toThrow(/authentication refused: "REJECTED/);
  fake.close();
});

test('a 1280x720 Scanout (3.7 MB) crosses in order with the calls around it: a full socket waits for writability', async () => {
  const { ours, qemu } = await pair();
  const got: PeerMessage[] = [];
  ours.on('message', (m: PeerMessage) => got.push(m));
  const pixels = Buffer.alloc(1280 * 720 * 4);
  for (let i = 0; i < pixels.length; i += 4096) pixels[i] = (i / 4096) & 0xff;
  const send = (member: string, signature: string, body: unknown[]) => qemu.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/org/qemu/Display1/Listener', interface: LISTENER, member, signature, body });
  send('Disable', '', []);
  send('Scanout', 'uuuuay', [1280, 720, 5120, 0x20020888, pixels]);
  send('MouseSet', 'iii', [1, 2, 1]);
  for (let i = 0; i < 500 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  expect(got.map((m) => m.member)).toEqual(['Disable', 'Scanout', 'MouseSet']);
  expect((got[1].body[4] as Buffer).equals(pixels)).toBe(true);
  ours.close();
  qemu.close();
}, 30_000); // dbus-next marshals an ay byte by byte: the harness's send takes seconds

test('a message longer than the D-Bus limit closes the link instead of buffering it', async () => {
  const { ours, qemu } = await pair();
  const closed = new Promise<Error | undefined>((r) => ours.on('close', r));
  // Only the header: it announces a body of 200 MiB.
  const head = Buffer.alloc(16);
  head.write('l', 0, 'latin1');
  head[1] = MESSAGE.METHOD_CALL;
  head[3] = 1;
  head.writeUInt32LE(200 * 1024 * 1024, 4);
  head.writeUInt32LE(1, 8);
  writeSync(qemu.fd, head);
  expect((await closed)?.message).toMatch(/exceeds the D-Bus limit of 134217728 bytes/);
  qemu.close();
});

test('a peer that sends file descriptors without messages is cut off before it exhausts ours', async () => {
  const { ours, qemu } = await pair();
  const closed = new Promise<Error | undefined>((r) => ours.on('close', r));
  const before = openFds();
  const mem = memfdCreate('flood');
  // 1120 fds, 16 per datagram (the addon's limit), each with one byte that never forms a message.
  for (let i = 0; i < 70; i++) sendWithFds(qemu.fd, Buffer.from('l'), Array(16).fill(mem));
  expect((await closed)?.message).toMatch(/more than 1024 file descriptors ahead of its messages/);
  closeSync(mem);
  qemu.close();
  // Everything received was closed with the link.
  expect(openFds()).toBeLessThanOrEqual(before);
});

test('a call still waiting when the peer hangs up fails at once as EDF_PEER_CLOSED, not at its timeout', async () => {
  const { ours, qemu } = await pair();
  qemu.on('message', () => qemu.close()); // takes the call, never answers, hangs up
  const r = ours.call({ path: '/org/qemu/Display1', interface: 'org.freedesktop.DBus.ObjectManager', member: 'GetManagedObjects' }, 600_000);
  await expect(r).rejects.toMatchObject({ code: 'EDF_PEER_CLOSED' });
  await expect(ours.call({ path: '/', interface: 'x.y', member: 'Z' })).rejects.toMatchObject({ code: 'EDF_PEER_CLOSED' });
});

test('messages sent just before the peer hangs up are still delivered', async () => {
  const { ours, qemu } = await pair();
  const got: PeerMessage[] = [];
  ours.on('message', (m: PeerMessage) => got.push(m));
  const closed = new Promise<unknown>((r) => ours.on('close', r));
  for (let i = 0; i < 3; i++) qemu.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/p', interface: 'x.y', member: `M${i}` });
  qemu.close();
  expect(await closed).toMatchObject({ code: 'EDF_PEER_CLOSED' });
  expect(got.map((m) => m.member)).toEqual(['M0', 'M1', 'M2']);
});

test('sending to a peer that has gone closes the link instead of throwing at the sender', async () => {
  const { ours, qemu } = await pair();
  const closed = new Promise<unknown>((r) => ours.on('close', r));
  qemu.close();
  // Before the hang-up is read, a reply goes out: EPIPE, which must not reach this caller.
  expect(() => ours.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/p', interface: 'x.y', member: 'Late' })).not.toThrow();
  expect(await closed).toMatchObject({ code: 'EDF_PEER_CLOSED' });
});

test('a peer that floods messages before anyone listens is cut off; what it held is freed', async () => {
  const { ours, qemu } = await pair();
  const closed = new Promise<(Error & { code?: string }) | undefined>((r) => ours.on('close', r));
  const before = openFds();
  const mem = memfdCreate('held');
  for (let i = 0; i < 70; i++) qemu.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/p', interface: 'x.y', member: 'M', signature: 'h', body: [mem] });
  const err = await closed;
  expect([err?.code, err?.message]).toEqual(['EDF_PEER_PROTOCOL', 'the peer sent more than 64 messages before the link was being read']);
  closeSync(mem);
  qemu.close();
  expect(openFds()).toBeLessThanOrEqual(before);
});
