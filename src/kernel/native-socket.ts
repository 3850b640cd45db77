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

/** `flags`: memfd_create's (MFD_ALLOW_SEALING to seal it later); always close-on-exec. */
export function memfdCreate(name: string, flags?: number): number {
  return loadAddon().memfdCreate(name, flags);
}

export const MFD_ALLOW_SEALING = 0x2;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;

/** F_GET_SEALS: the seals a memfd carries (EINVAL for a file that is no memfd). */
export function memfdSeals(fd: number): number {
  return loadAddon().memfdGetSeals(fd);
}

export function memfdAddSeals(fd: number, seals: number): void {
  loadAddon().memfdAddSeals(fd, seals);
}

export interface FdWatcher {
  stop(): void;
  /** Also report writability (to drain a send queue); off again once it is drained. */
  wantWritable(on: boolean): void;
}

/** FD_READABLE when `fd` is readable or hung up, FD_WRITABLE when writable and asked for. */
export const FD_READABLE = 1;
export const FD_WRITABLE = 2;

/**
 * Calls `cb(mask)` when `fd` is readable (or hung up), or writable while that is wanted. What
 * `cb` throws goes to `onError`, never out of the event loop's callback.
 */
export function watchFd(fd: number, cb: (mask: number) => void, onError: (e: Error) => void): FdWatcher {
  return loadAddon().watchFd(fd, cb, (e) => onError(e instanceof Error ? e : new Error(String(e))));
}

/** A connected, non-blocking unix socket fd (e.g. to a D-Bus bus at `unix:path=…`). */
export function connectUnix(path: string): number {
  return loadAddon().connectUnix(path);
}
