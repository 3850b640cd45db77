import { constants as osConstants } from 'node:os';

/**
 * The one error shape of the kernel surface, native and simulated alike: Node's SystemError
 * fields, so callers decide on `err.code` and never on message text.
 */
export interface KernelError extends Error {
  code: string;
  /** Negative errno, as Node's own SystemErrors carry it. */
  errno: number;
  /** The ioctl or syscall that failed, e.g. `DRM_IOCTL_MODE_ATOMIC`. */
  syscall: string;
  path?: string;
}

/** Node's table, plus Linux errnos it lacks that the kernel surface meets (udmabuf's EBADFD). */
const errnoByCode: Record<string, number> = { ...(osConstants.errno as Record<string, number>), EBADFD: 77 };

export function errnoOf(code: string): number {
  const n = errnoByCode[code];
  if (n === undefined) throw new TypeError(`unknown errno code ${code}`);
  return n;
}

/** Builds the same error the addon throws, for the simulator and for wrappers above it. */
export function kernelError(code: string, syscall: string, path?: string, detail?: string): KernelError {
  const where = path ? ` ${path}` : '';
  const why = detail ? ` (${detail})` : '';
  const err = new Error(`${code}: ${syscall} failed${where}${why}`) as KernelError;
  err.code = code;
  err.errno = -errnoOf(code);
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

export function isKernelError(e: unknown, code?: string): e is KernelError {
  if (!(e instanceof Error)) return false;
  const k = e as Partial<KernelError>;
  if (typeof k.code !== 'string' || typeof k.syscall !== 'string') return false;
  return code === undefined || k.code === code;
}
