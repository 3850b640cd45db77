import type { KmsProfile } from './kms-profile';
import type { UserspaceProfile } from './userspace-profile';
import type { VfioProfile } from './vfio-profile';

/**
 * A simulated host: `examples/hosts/<name>.json`. The KMS part describes one DRM card as the
 * kernel would report it; the VFIO part describes the mdev parent, its types and mdevs.
 */
export interface HostProfile {
  name: string;
  description: string;
  kms: KmsProfile;
  vfio: VfioProfile;
  /** What runs above the kernel (versions, /proc, modules); optional, see userspace-profile.ts. */
  userspace?: UserspaceProfile;
}
