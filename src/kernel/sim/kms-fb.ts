import { DRM_MODE_FB_MODIFIERS } from '../constants';
import { formatInfo } from '../formats';
import type { AddFb2Args } from '../types';
import type { Gem, GemHandles } from './kms-gem';
import { checkI915Fb } from './kms-fb-i915';
import type { KmsProfile } from './kms-profile';
import type { SimPlane } from './kms-objects';

/** DRM_MODE_FB_INTERLACED: accepted by the core, meaningless to the sim. */
const DRM_MODE_FB_INTERLACED = 1 << 0;
const I = 'DRM_IOCTL_MODE_ADDFB2';

type Fail = (code: string, ioctl: string, detail: string) => never;

/**
 * The checks of drm_mode_addfb2() → drm_internal_framebuffer_create() → framebuffer_check(),
 * drm_any_plane_has_format() and drm_gem_fb_init_with_funcs(), in the kernel's order, each with
 * its errno. Returns the modifier the fb carries and the GEM object of each plane.
 */
export function checkAddFb2(a: AddFb2Args, profile: KmsProfile, planes: SimPlane[], gems: GemHandles, fail: Fail): { modifier: bigint; gems: Gem[] } {
  const l = profile.limits;
  const withMods = (a.flags & DRM_MODE_FB_MODIFIERS) !== 0;
  if (a.flags & ~(DRM_MODE_FB_INTERLACED | DRM_MODE_FB_MODIFIERS)) fail('EINVAL', I, `bad flags 0x${a.flags.toString(16)}`);
  if (withMods && !profile.caps.addfb2Modifiers) fail('EINVAL', I, 'driver does not support modifiers');
  if (a.width < l.minWidth || a.width > l.maxWidth) fail('EINVAL', I, `width ${a.width} outside ${l.minWidth}..${l.maxWidth}`);
  if (a.height < l.minHeight || a.height > l.maxHeight) fail('EINVAL', I, `height ${a.height} outside ${l.minHeight}..${l.maxHeight}`);
  // framebuffer_check()
  const info = formatInfo(a.pixelFormat);
  if (!info) fail('EINVAL', I, `bad framebuffer format 0x${a.pixelFormat.toString(16)}`);
  if (a.width === 0) fail('EINVAL', I, 'bad framebuffer width 0');
  if (a.height === 0) fail('EINVAL', I, 'bad framebuffer height 0');
  const mod = (i: number) => a.modifiers[i] ?? 0n;
  for (let i = 0; i < info.cpp.length; i++) {
    const w = i === 0 ? a.width : Math.ceil(a.width / info.hsub);
    const h = i === 0 ? a.height : Math.ceil(a.height / info.vsub);
    const pitch = a.pitches[i] ?? 0;
    if (!(a.handles[i] ?? 0)) fail('EINVAL', I, `no buffer object handle for plane ${i}`);
    if (h * pitch + (a.offsets[i] ?? 0) > 0xffffffff) fail('ERANGE', I, `plane ${i} ends beyond 4 GiB`);
    if (pitch < w * info.cpp[i]) fail('EINVAL', I, `pitch ${pitch} too small for ${w} pixels`);
    if (mod(i) !== 0n && !withMods) fail('EINVAL', I, `bad fb modifier 0x${mod(i).toString(16)} for plane ${i} without DRM_MODE_FB_MODIFIERS`);
    if (withMods && mod(i) !== mod(0)) fail('EINVAL', I, 'planes have different modifiers');
  }
  for (let i = info.cpp.length; i < 4; i++) {
    if (mod(i)) fail('EINVAL', I, `non-zero modifier for unused plane ${i}`);
    // "Pre-FB_MODIFIERS userspace didn't clear the structs properly": only with the flag are the
    // unused planes' handles, pitches and offsets required to be zero.
    if (!withMods) continue;
    if (a.handles[i]) fail('EINVAL', I, `buffer object handle for unused plane ${i}`);
    if (a.pitches[i]) fail('EINVAL', I, `non-zero pitch for unused plane ${i}`);
    if (a.offsets[i]) fail('EINVAL', I, `non-zero offset for unused plane ${i}`);
  }
  const modifier = withMods ? mod(0) : 0n;
  if (!planes.some((p) => (p.modifiers.get(a.pixelFormat) ?? []).includes(modifier))) {
    fail('EINVAL', I, `unsupported pixel format 0x${a.pixelFormat.toString(16)} / modifier 0x${modifier.toString(16)}`);
  }
  // drm_gem_fb_init_with_funcs(): every handle must exist and be big enough for its plane.
  const objs: Gem[] = [];
  for (let i = 0; i < info.cpp.length; i++) {
    const w = i === 0 ? a.width : Math.ceil(a.width / info.hsub);
    const h = i === 0 ? a.height : Math.ceil(a.height / info.vsub);
    const gem = gems.get(a.handles[i]);
    if (!gem) fail('ENOENT', I, `failed to lookup GEM object ${a.handles[i]}`);
    const min = (h - 1) * a.pitches[i] + w * info.cpp[i] + (a.offsets[i] ?? 0);
    if (gem.size < min) fail('EINVAL', I, `GEM object of ${gem.size} bytes is smaller than the ${min} plane ${i} needs`);
    objs.push(gem);
  }
  // The driver's own fb_create checks (i915: intel_framebuffer_init).
  if (profile.driver.name === 'i915') checkI915Fb(a, info, modifier, objs, fail);
  return { modifier, gems: objs };
}
