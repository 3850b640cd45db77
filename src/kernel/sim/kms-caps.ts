import { DRM_CAP, DRM_CLIENT_CAP } from '../constants';
import type { KmsProfile } from './kms-profile';

type Fail = (code: string, ioctl: string, detail: string) => never;

/** linux/drm.h numbers drm_getcap() answers that the layers above do not name. */
const DRM_CAP_VBLANK_HIGH_CRTC = 0x2;
const DRM_CAP_TIMESTAMP_MONOTONIC = 0x6;

/** drm_getcap(): the driver's caps from the profile, and those every KMS driver answers. */
export function capValue(caps: KmsProfile['caps'], cap: number, fail: Fail): bigint {
  const values: Record<number, number> = {
    [DRM_CAP.DUMB_BUFFER]: caps.dumbBuffer, [DRM_CAP.PRIME]: caps.prime, [DRM_CAP.CURSOR_WIDTH]: caps.cursorWidth,
    [DRM_CAP.CURSOR_HEIGHT]: caps.cursorHeight, [DRM_CAP.ADDFB2_MODIFIERS]: caps.addfb2Modifiers ? 1 : 0, [DRM_CAP.CRTC_IN_VBLANK_EVENT]: 1,
    // Vblank on any CRTC, CLOCK_MONOTONIC stamps.
    [DRM_CAP_VBLANK_HIGH_CRTC]: 1, [DRM_CAP_TIMESTAMP_MONOTONIC]: 1,
  };
  if (values[cap] === undefined) fail('EINVAL', 'DRM_IOCTL_GET_CAP', `unknown cap ${cap}`);
  return BigInt(values[cap]);
}

export interface ClientCaps {
  universalPlanes: boolean;
  atomicCap: boolean;
  writebackCap: boolean;
}

/** drm_setclientcap(): ATOMIC takes 0..2, the others 0..1; WRITEBACK_CONNECTORS needs ATOMIC first. */
export function setClientCap(f: ClientCaps, cap: number, value: number, fail: Fail): void {
  const I = 'DRM_IOCTL_SET_CLIENT_CAP';
  const max = cap === DRM_CLIENT_CAP.ATOMIC ? 2 : 1;
  if (!Number.isInteger(value) || value < 0 || value > max) fail('EINVAL', I, `value ${value}`);
  const on = value !== 0;
  switch (cap) {
    case DRM_CLIENT_CAP.STEREO_3D:
    case DRM_CLIENT_CAP.ASPECT_RATIO:
      return;
    case DRM_CLIENT_CAP.UNIVERSAL_PLANES:
      f.universalPlanes = on;
      return;
    case DRM_CLIENT_CAP.ATOMIC:
      // file_priv->atomic = file_priv->universal_planes = req->value: clearing ATOMIC clears both.
      f.atomicCap = on;
      f.universalPlanes = on;
      return;
    case DRM_CLIENT_CAP.WRITEBACK_CONNECTORS:
      if (!f.atomicCap) fail('EINVAL', I, 'WRITEBACK_CONNECTORS needs ATOMIC');
      f.writebackCap = on;
      return;
    default:
      fail('EINVAL', I, `unknown client cap ${cap}`);
  }
}
