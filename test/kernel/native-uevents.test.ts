import { readdirSync } from 'node:fs';
import { nativeBackend, watchUeventsOn } from '../../src/kernel/native';
import type { Uevent } from '../../src/kernel/types';

/** The native backend's uevent listener: the addon's netlink socket, polled, parsed, guarded. */

const msg = (...parts: string[]) => Buffer.from(`${parts.join('\0')}\0`, 'latin1');

function fakeAddon(batches: { messages: Buffer[]; foreign: number; overrun: boolean }[]) {
  const calls = { closed: [] as number[], stopped: 0 };
  let ready: (() => void) | null = null;
  let onErr: ((e: unknown) => void) | undefined;
  const a = {
    ueventOpen: () => 77,
    ueventRead: (fd: number) => {
      if (fd !== 77) throw new Error(`read of fd ${fd}`);
      const b = batches.shift();
      if (!b) throw Object.assign(new Error('ENOBUFS: recvmsg failed'), { code: 'ENOBUFS', syscall: 'recvmsg' });
      return b;
    },
    watchFd: (_fd: number, cb: (mask: number) => void, onError?: (e: unknown) => void) => {
      ready = () => cb(1);
      onErr = onError;
      return { stop: () => void calls.stopped++, wantWritable: () => undefined };
    },
    close: (fd: number) => void calls.closed.push(fd),
  };
  /** What the addon's poller does: the callback, and what it throws to the error callback. */
  const poll = () => {
    try {
      ready!();
    } catch (e) {
      onErr?.(e);
    }
  };
  return { a, calls, poll };
}

test('each datagram is parsed and delivered; garbage is dropped; an overrun asks for a fresh look; nothing leaves the poll', () => {
  const hotplug = msg('change@/devices/pci0000:00/0000:00:02.0/drm/card0', 'ACTION=change', 'SUBSYSTEM=drm', 'HOTPLUG=1', 'MINOR=0', 'CONNECTOR=95');
  const { a, calls, poll } = fakeAddon([
    { messages: [hotplug, Buffer.from('no header'), Buffer.alloc(0)], foreign: 2, overrun: false },
    { messages: [hotplug], foreign: 0, overrun: true },
  ]);
  const got: Uevent[] = [];
  const errors: string[] = [];
  let throwOnce = true;
  const stop = watchUeventsOn(a, (u) => {
    got.push(u);
    if (throwOnce) {
      throwOnce = false;
      throw new Error('a listener that fails');
    }
  }, (e) => errors.push(e.message));
  poll();
  expect(got.map((u) => u.env.CONNECTOR)).toEqual(['95']);
  poll();
  expect(got.slice(1).map((u) => u.env.CONNECTOR ?? u.env.DIRECTFLIP_OVERRUN)).toEqual(['95', '1']);
  poll(); // the socket fails: reported, not thrown
  expect(errors).toEqual(['a listener that fails', 'ENOBUFS: recvmsg failed']);
  stop();
  stop();
  expect(calls).toEqual({ closed: [77], stopped: 1 });
});

test('on this kernel the socket opens, and stopping closes it', () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const stop = nativeBackend().watchUevents!(() => undefined, () => undefined);
  expect(fds()).toBe(before + 1);
  stop();
  expect(fds()).toBe(before);
});
