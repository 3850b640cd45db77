import type { KernelBackend } from './types';

/** Placeholder until the addon lands: the kernel lane and real hosts need it. */
export function nativeBackend(): KernelBackend {
  throw Object.assign(new Error('the native addon is not built: run npm ci (needs the Debian packages libdrm-dev and linux-libc-dev)'), { code: 'EDF_NO_ADDON' });
}
