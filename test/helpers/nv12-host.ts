import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { checkProfile } from '../../src/kernel/sim/profile-schema';
import type { HostProfile } from '../../src/kernel/sim/profile';

/**
 * vkms with NV12 on its overlays, as vkms lists it once it gained YUV planes (after 6.12, whose
 * profile has none): the examples keep the kernels they were checked against, so the two-plane
 * tests bring their own. Checked by the same schema as every profile.
 */
export function nv12Profile(): HostProfile {
  const p = structuredClone(loadProfile('vkms'));
  p.name = 'vkms-nv12';
  p.description = 'vkms with NV12 on the overlay planes (a test profile for two-plane buffers)';
  for (const t of p.kms.planesPerCrtc) if (t.type === 'overlay') t.formats = [...t.formats, 'NV12'];
  checkProfile(p);
  return p;
}

export function nv12Host(opts: { udmabuf?: boolean } = {}): SimHost {
  const p = nv12Profile();
  if (opts.udmabuf !== undefined) Object.assign(p, { udmabuf: opts.udmabuf });
  return new SimHost(p);
}
