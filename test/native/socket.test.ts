import { closeSync, fstatSync, readFileSync, readSync, writeSync } from 'node:fs';
import { memfdCreate, recvWithFds, sendWithFds, socketPair } from '../../src/kernel/native-socket';

// Real AF_UNIX sockets and memfds: this machine's kernel has them, so this is the addon itself.
const cloexec = (fd: number) => (parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8) & 0o2000000) !== 0;

test('fds sent over a socketpair arrive as new close-on-exec fds on the same file', () => {
  const [a, b] = socketPair();
  const mem = memfdCreate('frame');
  writeSync(mem, Buffer.from('guest pixels'), 0, 12, 0);
  expect(sendWithFds(a, Buffer.from('x'), [mem, mem])).toBe(1);
  const r = recvWithFds(b, 64)!;
  expect(r.data.toString()).toBe('x');
  expect(r.fds).toHaveLength(2);
  expect(r.truncated).toBe(false);
  for (const fd of r.fds) {
    expect(fd).not.toBe(mem);
    expect(fstatSync(fd).ino).toBe(fstatSync(mem).ino);
    expect(cloexec(fd)).toBe(true);
  }
  const buf = Buffer.alloc(12);
  readSync(r.fds[0], buf, 0, 12, 0);
  expect(buf.toString()).toBe('guest pixels');
  for (const fd of [a, b, mem, ...r.fds]) closeSync(fd);
});

test('nothing pending is null; a closed peer reads as empty data', () => {
  const [a, b] = socketPair();
  expect(recvWithFds(b, 16)).toBeNull();
  closeSync(a);
  expect(recvWithFds(b, 16)).toEqual({ data: Buffer.alloc(0), fds: [], truncated: false });
  closeSync(b);
});

// The addon's TypeError comes from Node's realm, not jest's sandbox: compare by name.
test('errors carry the syscall; wrong arguments are TypeErrors', () => {
  const [a, b] = socketPair();
  closeSync(a);
  closeSync(b);
  expect(() => sendWithFds(a, Buffer.from('x'), [])).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'sendmsg' }));
  expect(() => recvWithFds(b, 8)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'recvmsg' }));
  expect(() => sendWithFds(3, Buffer.alloc(0), [])).toThrow(expect.objectContaining({ name: 'TypeError' }));
  expect(() => sendWithFds(3, Buffer.from('x'), new Array(17).fill(0))).toThrow(expect.objectContaining({ name: 'TypeError' }));
  expect(() => recvWithFds(3, 0)).toThrow(expect.objectContaining({ name: 'TypeError' }));
});
