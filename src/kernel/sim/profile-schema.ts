import { DRM_CONNECTOR_TYPE_NAMES, DRM_FORMAT_MOD } from '../constants';
import { ROTATION_BITS } from './kms-objects';
import type { Check } from './profile-check';
import { arr, bool, either, fail, int, obj, oneOf, str } from './profile-check';
import type { HostProfile } from './profile';
import { userspaceCheck } from './userspace-profile';

/**
 * The host profile's schema (examples/hosts/*.json). Counts are the kernel's own limits where it
 * has one: CRTCs, planes, encoders and connectors are bits of u32 masks (drm_crtc_init_with_planes,
 * __drm_universal_plane_init and drm_encoder_init refuse a 33rd, the connector ida stops at 31),
 * a plane has at most 64 formats (a u64 per modifier in IN_FORMATS), property and enum names fit
 * DRM_PROP_NAME_LEN, mode names DRM_DISPLAY_MODE_LEN. Mode lists and mdevs have loader bounds.
 */

export const LIMITS = { crtcs: 32, planes: 32, formats: 64, connectors: 32, modes: 256, properties: 128, enums: 64, mdevs: 64, types: 32 };

const U32 = 0xffffffff;
const FOURCC = str(4, /^[\x20-\x7e]{4}$/, 'a fourcc string (4 printable characters)');
const NAME31 = str(31, /^[\x20-\x7e]+$/, 'a name of 1 to 31 printable characters');
const MODIFIER = oneOf(Object.keys(DRM_FORMAT_MOD), `a modifier name (${Object.keys(DRM_FORMAT_MOD).join(', ')})`);
const CONNECTOR_TYPE = oneOf(Object.values(DRM_CONNECTOR_TYPE_NAMES), 'a DRM connector type name (HDMI-A, DP, eDP, Virtual, Writeback …)');
const PLANE_TYPE = oneOf(['primary', 'overlay', 'cursor']);
const MODE_NAME = str(31, /^\d+x\d+@\d+$/, 'a standard mode name such as "1920x1080@60"');
const TIMING4 = arr(int(0, 65535), 4, 4, 'an array of 4 timings');
const UUID = str(36, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a lower-case UUID');
const SAFE = (max: number) => str(max, /^[A-Za-z0-9][A-Za-z0-9:._+/-]*$/, `a name of letters, digits and :._+/- (at most ${max})`);

const modeSpec = obj(
  { name: str(31), clock: int(1, 10_000_000), h: TIMING4, v: TIMING4, flags: int(0, U32), type: int(0, 255) },
  { hskew: int(0, 65535), vscan: int(0, 65535) },
);

const plane = obj(
  { type: PLANE_TYPE, formats: arr(FOURCC, LIMITS.formats, 1, 'an array of fourcc strings'), modifiers: arr(MODIFIER, 8, 1, 'an array of modifier names'), scaling: bool },
  {
    linearOnly: arr(FOURCC, LIMITS.formats, 0, 'an array of fourcc strings'), zpos: int(0, 255),
    rotations: arr(oneOf(ROTATION_BITS, `a rotation (${ROTATION_BITS.join(', ')})`), ROTATION_BITS.length, 1),
    fullScreen: bool, sizes: arr(int(1, 1024), 8, 1), cursorHeights: oneOf(['square', 'up-to-width']),
    anyCrtc: bool, maxDownscale: int(1, 16), maxDownscaleSemiplanar: int(1, 16), unscalableFormats: arr(FOURCC, LIMITS.formats, 0, 'an array of fourcc strings'),
  },
);

const connector = obj(
  {
    type: CONNECTOR_TYPE, typeId: int(1, 32), status: oneOf(['connected', 'disconnected', 'unknown']), mmWidth: int(0, 100_000), mmHeight: int(0, 100_000),
    modes: arr(either(MODE_NAME, modeSpec, 'a standard mode name such as "1920x1080@60" or a mode spelled out {name, clock, h, v, flags, type}'), LIMITS.modes, 0),
    possibleCrtcs: arr(int(0, LIMITS.crtcs - 1), LIMITS.crtcs, 1, 'an array of CRTC indices'),
  },
  { active: obj({ crtc: int(0, LIMITS.crtcs - 1), mode: MODE_NAME }), writebackFormats: arr(FOURCC, LIMITS.formats, 1, 'an array of fourcc strings') },
);

const property = obj(
  { name: NAME31, object: oneOf(['crtc', 'plane', 'connector']), type: oneOf(['range', 'signed_range', 'enum', 'bitmask', 'blob']), default: int(-(2 ** 53), 2 ** 53) },
  {
    planes: arr(PLANE_TYPE, 3, 1), connectors: arr(CONNECTOR_TYPE, 32, 1), enums: arr(obj({ name: NAME31, value: int(0, 2 ** 53) }), LIMITS.enums, 1),
    min: int(-(2 ** 53), 2 ** 53), max: int(-(2 ** 53), 2 ** 53), perObject: bool, immutable: bool, atomic: bool,
    blobSize: int(1, 1 << 20), blobElementSize: int(1, 1 << 16), lutSizeProperty: NAME31, kernel: str(2000),
  },
);

const kms = obj({
  driver: obj({ name: str(64), desc: str(256), date: str(16), major: int(0, 65535), minor: int(0, 65535), patch: int(0, 65535) }),
  devPath: str(64, /^\/dev\/dri\/card\d{1,3}$/, 'a card path such as /dev/dri/card0'),
  pciAddress: SAFE(64),
  caps: obj(
    { cursorWidth: int(1, 1024), cursorHeight: int(1, 1024), addfb2Modifiers: bool, prime: int(0, 3), dumbBuffer: int(0, 1) },
    { dumbPitchAlign: oneOf([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], 'a power of two from 1 to 4096') },
  ),
  limits: obj({ minWidth: int(0, 65535), maxWidth: int(1, 65535), minHeight: int(0, 65535), maxHeight: int(1, 65535) }),
  crtcs: int(1, LIMITS.crtcs),
  connectors: arr(connector, LIMITS.connectors, 0),
  planesPerCrtc: arr(plane, LIMITS.planes, 1),
}, { scalersPerCrtc: arr(int(0, 8), LIMITS.crtcs), scalerRange: arr(int(1, 65535), 2, 2, 'an array [min, max] of pixels'), properties: arr(property, LIMITS.properties) });

const guestPlane = obj({ format: FOURCC, modifier: MODIFIER });

const vfio = obj({
  kind: oneOf(['gvt', 'mbochs', 'none']), parent: SAFE(64), parentSysfs: str(256, /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9:._+/-]+$/, 'a relative path under /sys/devices'),
  directFlip: bool, types: arr(obj({ name: SAFE(64), description: str(1000), availableInstances: int(0, 1024), resolution: arr(int(1, 16384), 2, 2, 'an array [width, height]') }), LIMITS.types),
  defaultType: str(64), mdevs: arr(obj({ uuid: UUID, type: str(64) }), LIMITS.mdevs), primary: guestPlane,
  cursor: either(oneOf([null]), guestPlane, 'null or {format, modifier}'), firstIommuGroup: int(0, 1 << 20),
}, { planeType: oneOf(['dmabuf', 'region']), autoCreateMdevs: bool });

const host: Check = obj({ name: str(64, /^[a-z0-9][a-z0-9-]*$/, 'a profile name of lower-case letters, digits and -'), description: str(1000), kms, vfio }, { userspace: userspaceCheck });

/** The whole profile, then what one field cannot say alone: indices in range, counts across fields. */
export function checkProfile(p: unknown): asserts p is HostProfile {
  host(p, '');
  const { kms: k, vfio: v } = p as HostProfile;
  const planes = k.crtcs * k.planesPerCrtc.length;
  if (planes > LIMITS.planes) fail('kms.planesPerCrtc', `at most ${LIMITS.planes} planes in all (the kernel's plane masks are 32 bits); crtcs × planesPerCrtc is ${planes}`);
  k.planesPerCrtc.forEach((t, i) => t.anyCrtc && t.type !== 'overlay' && fail(`kms.planesPerCrtc[${i}].anyCrtc`, 'only on overlay planes'));
  if (k.scalersPerCrtc && k.scalersPerCrtc.length > k.crtcs) fail('kms.scalersPerCrtc', `at most one entry per CRTC (${k.crtcs})`);
  if (k.limits.maxWidth < k.limits.minWidth || k.limits.maxHeight < k.limits.minHeight) fail('kms.limits', 'max sizes no smaller than min sizes');
  k.connectors.forEach((c, i) => {
    const at = `kms.connectors[${i}]`;
    c.possibleCrtcs.forEach((x, j) => x >= k.crtcs && fail(`${at}.possibleCrtcs[${j}]`, `a CRTC index below ${k.crtcs}`));
    if (c.active && c.active.crtc >= k.crtcs) fail(`${at}.active.crtc`, `a CRTC index below ${k.crtcs}`);
    if (c.active && !c.possibleCrtcs.includes(c.active.crtc)) fail(`${at}.active.crtc`, 'one of the connector\'s possibleCrtcs');
  });
  if (v.types.length && !v.types.some((t) => t.name === v.defaultType)) fail('vfio.defaultType', 'the name of one of vfio.types');
  v.mdevs.forEach((m, i) => v.types.some((t) => t.name === m.type) || fail(`vfio.mdevs[${i}].type`, 'the name of one of vfio.types'));
  const pids = (p as HostProfile).userspace?.processes?.map((x) => x.pid) ?? [];
  pids.forEach((pid, i) => pids.indexOf(pid) !== i && fail(`userspace.processes[${i}].pid`, 'a pid no other process has'));
}
