import { decodeModeInfo } from '../blobs';
import { DRM_FORMAT_MOD, DRM_MODE_ATOMIC } from '../constants';
import { kernelError } from '../errors';
import { formatInfo } from '../formats';
import type { PropState, SimConnector, SimCrtc, SimPlane } from './kms-objects';

/**
 * The checks of drm_atomic_check_only(), drm_atomic_helper_check_modeset() and
 * drm_atomic_helper_check_plane_state() over a proposed property state. Each refusal carries the
 * errno the kernel returns for it and a detail naming the object, as drm's debug log would.
 */

export interface SimFb {
  id: number;
  width: number;
  height: number;
  format: number;
  modifier: bigint;
  pitches: number[];
}

export interface AtomicContext {
  crtcs: SimCrtc[];
  planes: SimPlane[];
  connectors: SimConnector[];
  fb(id: number): SimFb | undefined;
  blob(id: number): Buffer | undefined;
  cursorMax: { width: number; height: number };
  /** Shared plane scalers per CRTC index, when the driver has such a pool. */
  scalers?: number[];
  /** Sizes a plane scaler takes (src and dst, pixels), when the driver has that limit. */
  scalerRange?: [number, number];
}

export interface Touched {
  crtcs: Set<number>;
  planes: Set<number>;
  connectors: Set<number>;
}

const SYSCALL = 'DRM_IOCTL_MODE_ATOMIC';

function refuse(code: string, detail: string): never {
  throw kernelError(code, SYSCALL, undefined, detail);
}

const get = (s: PropState, id: number, name: string) => s.get(id)?.get(name) ?? 0n;

export function modeOf(ctx: AtomicContext, s: PropState, crtc: SimCrtc): Buffer | null {
  const id = Number(get(s, crtc.id, 'MODE_ID'));
  return id ? ctx.blob(id) ?? null : null;
}

export function checkAtomic(ctx: AtomicContext, old: PropState, next: PropState, touched: Touched, flags: number): void {
  const connectorsOf = (s: PropState, crtc: SimCrtc) => ctx.connectors.filter((c) => Number(get(s, c.id, 'CRTC_ID')) === crtc.id);
  const modesetCrtcs = new Set<number>();

  for (const crtc of ctx.crtcs.filter((c) => touched.crtcs.has(c.id))) {
    const oldMode = modeOf(ctx, old, crtc);
    const newMode = modeOf(ctx, next, crtc);
    const active = get(next, crtc.id, 'ACTIVE') === 1n;
    const enable = newMode !== null;
    const modeChanged = !(oldMode === null ? newMode === null : newMode !== null && oldMode.equals(newMode));
    const activeChanged = get(old, crtc.id, 'ACTIVE') !== get(next, crtc.id, 'ACTIVE');
    const before = connectorsOf(old, crtc).map((c) => c.id).join();
    const after = connectorsOf(next, crtc).map((c) => c.id).join();
    const linkChanged = connectorsOf(next, crtc).some((c) => get(old, c.id, 'link-status') !== get(next, c.id, 'link-status'));
    if (modeChanged || activeChanged || before !== after || linkChanged) modesetCrtcs.add(crtc.id);
    if (active && !enable) refuse('EINVAL', `[CRTC:${crtc.id}] active without enabled (no MODE_ID)`);
    if (enable !== (after !== '')) refuse('EINVAL', `[CRTC:${crtc.id}] enabled/connectors mismatch`);
    // Every encoder here clones only itself, so two displays on one CRTC is i915's "rejecting
    // invalid cloning configuration" (EINVAL). A writeback connector rides along with its display.
    const displays = connectorsOf(next, crtc).filter((c) => !c.writeback);
    if (displays.length > 1) refuse('EINVAL', `[CRTC:${crtc.id}] rejecting invalid cloning configuration: ${displays.map((c) => c.name).join(' + ')}`);
    if (flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT && !active && get(old, crtc.id, 'ACTIVE') !== 1n) {
      refuse('EINVAL', `[CRTC:${crtc.id}] requesting event but off`);
    }
  }
  if (modesetCrtcs.size && !(flags & DRM_MODE_ATOMIC.ALLOW_MODESET)) {
    refuse('EINVAL', `[CRTC:${[...modesetCrtcs].join(',')}] needs full modeset; ALLOW_MODESET not set`);
  }

  for (const conn of ctx.connectors.filter((c) => touched.connectors.has(c.id))) {
    const crtcId = Number(get(next, conn.id, 'CRTC_ID'));
    const crtc = ctx.crtcs.find((c) => c.id === crtcId);
    if (crtc && !(conn.encoder.possibleCrtcs & (1 << crtc.index))) {
      refuse('EINVAL', `[CONNECTOR:${conn.id}:${conn.name}] cannot drive [CRTC:${crtc.id}] (not in possible_crtcs)`);
    }
    if (conn.writeback) checkWriteback(ctx, next, conn, crtc);
  }

  // A modeset pulls in every plane on the CRTC, like drm_atomic_add_affected_planes().
  const planes = ctx.planes.filter((p) => {
    const crtcId = Number(get(next, p.id, 'CRTC_ID'));
    return touched.planes.has(p.id) || modesetCrtcs.has(crtcId) || touched.crtcs.has(crtcId);
  });
  for (const p of planes) checkPlane(ctx, next, p);
  if (ctx.scalers) checkScalers(ctx, next, new Set(planes.map((p) => Number(get(next, p.id, 'CRTC_ID')))));
}

/**
 * i915's intel_atomic_setup_scalers(): every plane that scales, and every planar YUV plane,
 * takes one of the CRTC's scalers; more requests than scalers is EINVAL.
 */
function checkScalers(ctx: AtomicContext, s: PropState, crtcIds: Set<number>): void {
  for (const crtc of ctx.crtcs.filter((c) => crtcIds.has(c.id))) {
    const users = ctx.planes.filter((p) => {
      if (Number(get(s, p.id, 'CRTC_ID')) !== crtc.id) return false;
      const fb = ctx.fb(Number(get(s, p.id, 'FB_ID')));
      const quarter = (get(s, p.id, 'rotation') & 0b1010n) !== 0n;
      const [rw, rh] = quarter ? [get(s, p.id, 'SRC_H'), get(s, p.id, 'SRC_W')] : [get(s, p.id, 'SRC_W'), get(s, p.id, 'SRC_H')];
      const scaled = rw !== get(s, p.id, 'CRTC_W') << 16n || rh !== get(s, p.id, 'CRTC_H') << 16n;
      // skl_update_scaler_plane(): an invisible plane detaches from its scaler (force_detach).
      return visibleOn(ctx, s, p, crtc) && (scaled || (fb !== undefined && (formatInfo(fb.format)?.cpp.length ?? 1) > 1));
    });
    const have = ctx.scalers![crtc.index] ?? 0;
    if (users.length > have) refuse('EINVAL', `[CRTC:${crtc.id}] too many scaling requests ${users.length} > ${have} (planes ${users.map((p) => p.id).join(', ')})`);
  }
}

function checkWriteback(ctx: AtomicContext, s: PropState, conn: SimConnector, crtc: SimCrtc | undefined): void {
  const fbId = Number(get(s, conn.id, 'WRITEBACK_FB_ID'));
  // drm_atomic_connector_check(): an out-fence needs a writeback job.
  if (!fbId && get(s, conn.id, 'WRITEBACK_OUT_FENCE_PTR')) refuse('EINVAL', `[CONNECTOR:${conn.id}] requesting out-fence without framebuffer`);
  if (!fbId) return;
  if (!crtc || get(s, crtc.id, 'ACTIVE') !== 1n) refuse('EINVAL', `[CONNECTOR:${conn.id}] writeback job without an active CRTC`);
  const fb = ctx.fb(fbId)!;
  const mode = decodeModeInfo(modeOf(ctx, s, crtc)!);
  if (fb.width !== mode.hdisplay || fb.height !== mode.vdisplay) refuse('EINVAL', `[FB:${fbId}] ${fb.width}x${fb.height} differs from the mode for writeback`);
  if (!conn.writeback!.formats.includes(fb.format)) refuse('EINVAL', `[FB:${fbId}] format not in WRITEBACK_PIXEL_FORMATS`);
}

function checkPlane(ctx: AtomicContext, s: PropState, p: SimPlane): void {
  const v = (n: string) => get(s, p.id, n);
  const fbId = Number(v('FB_ID'));
  const crtcId = Number(v('CRTC_ID'));
  const tag = `[PLANE:${p.id}:${p.type}]`;
  // drm_atomic_plane_check()
  if (crtcId && !fbId) refuse('EINVAL', `${tag} CRTC set but no FB`);
  if (fbId && !crtcId) refuse('EINVAL', `${tag} FB set but no CRTC`);
  if (!crtcId) return;
  const crtc = ctx.crtcs.find((c) => c.id === crtcId)!;
  if (!(p.possibleCrtcs & (1 << crtc.index))) refuse('EINVAL', `${tag} invalid CRTC [CRTC:${crtcId}]`);
  const fb = ctx.fb(fbId)!;
  if (!p.formats.includes(fb.format) || !(p.modifiers.get(fb.format) ?? []).includes(fb.modifier)) {
    refuse('EINVAL', `${tag} invalid pixel format/modifier 0x${fb.format.toString(16)}/0x${fb.modifier.toString(16)}`);
  }
  const [cx, cy] = [BigInt.asIntN(64, v('CRTC_X')), BigInt.asIntN(64, v('CRTC_Y'))];
  const [cw, ch] = [v('CRTC_W'), v('CRTC_H')];
  if (cx + BigInt.asIntN(64, cw) > 0x7fffffffn || cy + BigInt.asIntN(64, ch) > 0x7fffffffn) refuse('ERANGE', `${tag} invalid CRTC coordinates`);
  const [sx, sy, sw, sh] = [v('SRC_X'), v('SRC_Y'), v('SRC_W'), v('SRC_H')];
  const fw = BigInt(fb.width) << 16n;
  const fh = BigInt(fb.height) << 16n;
  if (sw > fw || sx > fw - sw || sh > fh || sy > fh - sh) refuse('ENOSPC', `${tag} invalid source coordinates (outside the ${fb.width}x${fb.height} fb)`);

  // A quarter turn scans the source sideways; i915 can do that only from Y or Yf tiled memory.
  const quarter = (v('rotation') & 0b1010n) !== 0n;
  if (quarter && fb.modifier !== DRM_FORMAT_MOD.I915_Y_TILED && fb.modifier !== DRM_FORMAT_MOD.I915_Yf_TILED) {
    refuse('EINVAL', `${tag} rotation 90/270 needs a Y or Yf tiled fb (modifier 0x${fb.modifier.toString(16)})`);
  }
  // drm_atomic_helper_check_plane_state(): the scale factors first, then visibility, then the
  // full-screen rule, which an invisible plane never meets.
  const [rw, rh] = quarter ? [sh, sw] : [sw, sh];
  const mode = modeOf(ctx, s, crtc);
  if (!mode) refuse('EINVAL', `${tag} cannot update plane of a disabled CRTC`);
  const [min, max] = scaleLimits(p, fb);
  const hscale = calcScale(rw, cw);
  const vscale = calcScale(rh, ch);
  // drm_rect_calc_hscale(): an empty destination is no scaling error (the plane is invisible).
  if ((cw > 0n && (hscale < min || hscale > max)) || (ch > 0n && (vscale < min || vscale > max))) {
    refuse('ERANGE', `${tag} invalid scaling: ${rw >> 16n}x${rh >> 16n} → ${cw}x${ch} (scale 0x${hscale.toString(16)}/0x${vscale.toString(16)} outside 0x${min.toString(16)}..0x${max.toString(16)})`);
  }
  const m = decodeModeInfo(mode);
  if (!visibleOn(ctx, s, p, crtc)) return;
  if (p.fullScreen && !(cx <= 0n && cy <= 0n && cx + cw >= BigInt(m.hdisplay) && cy + ch >= BigInt(m.vdisplay))) {
    refuse('EINVAL', `${tag} plane must cover entire CRTC`);
  }
  // skl_update_scaler(): a plane that scales needs its sizes within the scaler's range.
  const scaled = rw !== cw << 16n || rh !== ch << 16n;
  if (scaled && ctx.scalerRange) {
    const [lo, hi] = ctx.scalerRange.map(BigInt);
    const out = [rw >> 16n, rh >> 16n, cw, ch].some((x) => x < lo || x > hi);
    if (out) refuse('EINVAL', `${tag} src ${rw >> 16n}x${rh >> 16n} dst ${cw}x${ch} size is out of scaler range (${lo}..${hi})`);
  }
  // The driver's own cursor check (i915: intel_cursor_size_ok, i9xx_cursor_size_ok). vkms has
  // none: its cursor takes any size, DRM_CAP_CURSOR_* is only a hint there.
  if (p.type === 'cursor' && p.sizes) checkI915Cursor(ctx, p, fb, { sx, sy, cw, ch }, tag);
}

/** i9xx_check_cursor(): size, stride and panning rules of the i915 cursor plane. */
function checkI915Cursor(ctx: AtomicContext, p: SimPlane, fb: SimFb, r: { sx: bigint; sy: bigint; cw: bigint; ch: bigint }, tag: string): void {
  const { cw, ch } = r;
  if (cw > BigInt(ctx.cursorMax.width) || ch > BigInt(ctx.cursorMax.height)) refuse('EINVAL', `${tag} cursor ${cw}x${ch} larger than ${ctx.cursorMax.width}x${ctx.cursorMax.height}`);
  if (!p.sizes!.includes(Number(cw))) refuse('EINVAL', `${tag} cursor width ${cw} not one of ${p.sizes!.join('/')}`);
  const heightOk = p.cursorHeights === 'up-to-width' ? ch >= 8n && ch <= cw : ch === cw;
  if (!heightOk) refuse('EINVAL', `${tag} cursor dimension ${cw}x${ch} not supported`);
  const cpp = formatInfo(fb.format)?.cpp[0] ?? 4;
  if (fb.pitches[0] !== Number(cw) * cpp) refuse('EINVAL', `${tag} invalid cursor stride ${fb.pitches[0]} (cursor width ${cw})`);
  if (r.sx !== 0n || r.sy !== 0n) refuse('EINVAL', `${tag} arbitrary cursor panning not supported`);
}

/** drm_calc_scale(): src is 16.16, dst whole pixels; a downscale rounds up. 0 for an empty dst. */
function calcScale(src: bigint, dst: bigint): bigint {
  if (dst <= 0n) return 0n;
  return src > dst << 16n ? (src + dst - 1n) / dst : src / dst;
}

/** min_scale and max_scale as the driver passes them (DRM_PLANE_NO_SCALING where it cannot scale). */
function scaleLimits(p: SimPlane, fb: SimFb): [bigint, bigint] {
  const NO_SCALING = 1n << 16n;
  if (!p.scale || p.scale.unscalable.includes(fb.format)) return [NO_SCALING, NO_SCALING];
  const semiplanar = (formatInfo(fb.format)?.cpp.length ?? 1) === 2;
  return [BigInt(p.scale.min), BigInt(semiplanar ? p.scale.maxSemiplanar : p.scale.max)];
}

/** drm_rect_clip_scaled() against the mode: whether any of the plane's destination is on screen. */
function visibleOn(ctx: AtomicContext, s: PropState, p: SimPlane, crtc: SimCrtc): boolean {
  const mode = modeOf(ctx, s, crtc);
  if (!mode || !get(s, p.id, 'FB_ID')) return false;
  const m = decodeModeInfo(mode);
  const [cx, cy] = [BigInt.asIntN(64, get(s, p.id, 'CRTC_X')), BigInt.asIntN(64, get(s, p.id, 'CRTC_Y'))];
  const [cw, ch] = [get(s, p.id, 'CRTC_W'), get(s, p.id, 'CRTC_H')];
  return cw > 0n && ch > 0n && cx < BigInt(m.hdisplay) && cy < BigInt(m.vdisplay) && cx + cw > 0n && cy + ch > 0n;
}
