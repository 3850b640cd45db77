import { loadAddon } from './native';

/**
 * socketpair and SCM_RIGHTS fd passing, for QEMU's peer-to-peer D-Bus display link: dbus-next
 * cannot adopt a socketpair nor pass fds without a native helper (design §1). Received fds are
 * close-on-exec. Loaded lazily, like the rest of the addon.
 */
export interface Received {
  data: Buffer;
  fds: number[];
  truncated: boolean;
}

export function socketPair(): [number, number] {
  return loadAddon().socketPair();
}

/** Bytes written; 0 when the socket would block. */
export function sendWithFds(fd: number, data: Buffer, fds: number[]): number {
  return loadAddon().sendWithFds(fd, data, fds);
}

/** null when nothing is pending; an empty `data` means the peer closed. */
export function recvWithFds(fd: number, maxBytes: number): Received | null {
  return loadAddon().recvWithFds(fd, maxBytes);
}

export function memfdCreate(name: string): number {
  return loadAddon().memfdCreate(name);
}

/** Calls `cb` whenever `fd` is readable or hung up; returns the function that stops watching. */
export function watchReadable(fd: number, cb: () => void): () => void {
  return loadAddon().watchReadable(fd, cb);
}

/** A connected, non-blocking unix socket fd (e.g. to a D-Bus bus at `unix:path=…`). */
export function connectUnix(path: string): number {
  return loadAddon().connectUnix(path);
}
