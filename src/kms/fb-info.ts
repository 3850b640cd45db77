import { isKernelError } from '../kernel/errors';
import type { Fb2Info, KmsDevice } from '../kernel/types';

/**
 * GETFB2 without the leak: for a master (or CAP_SYS_ADMIN) the kernel makes a new GEM handle per
 * buffer on every call (drm_mode_getfb2_ioctl), alive until the file closes. Callers here only
 * want the description, so each distinct handle is closed at once and reported as 0.
 */
export function describeFb(dev: KmsDevice, fbId: number): Fb2Info {
  const fb = dev.getFb2(fbId);
  // Planes of one buffer share one handle (the ioctl reuses it), so it is closed once.
  for (const h of new Set(fb.handles.filter((x) => x !== 0))) dev.gemClose(h);
  return { ...fb, handles: fb.handles.map(() => 0) };
}

/** Whether framebuffer `id` exists; 0 ("no framebuffer") always does. */
export function fbExists(dev: KmsDevice, id: number): boolean {
  if (!id) return true;
  try {
    describeFb(dev, id);
    return true;
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return false;
    throw e;
  }
}
