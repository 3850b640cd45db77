import { DRM_MODE_ATOMIC } from '../constants';
import { isKernelError } from '../errors';
import { checkAtomic } from './kms-atomic';
import type { Touched } from './kms-atomic';
import type { SimCard } from './kms-card';
import { cloneState } from './kms-objects';
import type { PropState } from './kms-objects';

/**
 * What the kernel does to the display on its own when fbs and files go away: atomic_remove_fb()
 * in drm_framebuffer.c, and fbdev's restore at the last close (drm_client_modeset_commit_atomic()
 * via drm_fb_helper_lastclose()). Both are kernel-internal commits: no master needed.
 */

const PLANE_OFF = ['FB_ID', 'CRTC_ID', 'SRC_X', 'SRC_Y', 'SRC_W', 'SRC_H', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H'];

function disablePlane(s: PropState, planeId: number): void {
  const v = s.get(planeId)!;
  for (const k of PLANE_OFF) v.set(k, 0n);
}

/**
 * atomic_remove_fb(): one commit disabling every plane that shows the fb. If the driver refuses
 * it with EINVAL (an active CRTC it cannot run without its primary), it retries with
 * disable_crtcs: a primary's CRTC is switched off too, and its connectors unbound.
 * Returns whether the display state changed.
 */
export function atomicRemoveFb(card: SimCard, fbId: number): boolean {
  const shown = card.built.planes.filter((p) => Number(card.state.get(p.id)!.get('FB_ID')) === fbId);
  if (!shown.length) return false;
  for (const disableCrtcs of [false, true]) {
    const next = cloneState(card.state);
    const touched: Touched = { crtcs: new Set(), planes: new Set(), connectors: new Set() };
    for (const p of shown) {
      const crtcId = Number(next.get(p.id)!.get('CRTC_ID'));
      touched.planes.add(p.id);
      if (crtcId) touched.crtcs.add(crtcId);
      if (disableCrtcs && crtcId && p.type === 'primary') {
        next.get(crtcId)!.set('ACTIVE', 0n);
        next.get(crtcId)!.set('MODE_ID', 0n);
        for (const c of card.built.connectors) {
          if (Number(next.get(c.id)!.get('CRTC_ID')) !== crtcId) continue;
          next.get(c.id)!.set('CRTC_ID', 0n);
          touched.connectors.add(c.id);
        }
      }
      disablePlane(next, p.id);
    }
    try {
      checkAtomic(card.atomicContext(), card.state, next, touched, DRM_MODE_ATOMIC.ALLOW_MODESET);
    } catch (e) {
      if (!disableCrtcs && isKernelError(e) && e.code === 'EINVAL') continue;
      return false; // the kernel logs and leaves the plane showing a dangling fb; rare enough
    }
    card.completePending(touched.crtcs);
    card.state = next;
    card.collectBlobs();
    return true;
  }
  return false;
}

/**
 * The last close: fbdev commits its own configuration again. Every plane's rotation goes back to
 * rotate-0 and every non-primary plane is disabled; each CRTC fbdev drives gets its mode (the
 * blob is kept when the mode is the same), its connector, and the console fb full screen on its
 * primary; every other CRTC is switched off. Connectors taken off a CRTC read link-status Good
 * (update_output_state()). Nothing else (gamma, CTM, alpha …) is touched. A console whose
 * monitor is gone is not restored (fbdev re-probes: delayed_hotplug).
 */
export function fbdevRestore(card: SimCard): void {
  const b = card.built;
  const s = cloneState(card.state);
  for (const p of b.planes) {
    const v = s.get(p.id)!;
    if (v.has('rotation')) v.set('rotation', 1n);
    if (p.type !== 'primary') disablePlane(s, p.id);
  }
  const live = card.console.filter((c) => b.connectors.find((x) => x.id === c.connectorId)!.status === 1);
  for (const crtc of b.crtcs) {
    const con = live.find((c) => c.crtcId === crtc.id);
    const cv = s.get(crtc.id)!;
    for (const c of b.connectors) {
      const v = s.get(c.id)!;
      if (Number(v.get('CRTC_ID')) !== crtc.id) continue;
      v.set('CRTC_ID', 0n);
      v.set('link-status', 0n);
    }
    const primary = b.planes.find((p) => p.type === 'primary' && p.possibleCrtcs & (1 << crtc.index));
    if (!con) {
      cv.set('ACTIVE', 0n);
      cv.set('MODE_ID', 0n);
      if (primary && Number(s.get(primary.id)!.get('CRTC_ID')) === crtc.id) disablePlane(s, primary.id);
      continue;
    }
    s.get(con.connectorId)!.set('CRTC_ID', BigInt(crtc.id));
    const cur = card.blobs.get(Number(cv.get('MODE_ID')));
    if (!cur || !cur.data.equals(card.blobs.get(con.modeBlob)!.data)) cv.set('MODE_ID', BigInt(con.modeBlob));
    cv.set('ACTIVE', 1n);
    const pv = s.get(con.planeId)!;
    const vals: Record<string, bigint> = {
      FB_ID: BigInt(con.fbId), CRTC_ID: BigInt(crtc.id), CRTC_X: 0n, CRTC_Y: 0n, CRTC_W: BigInt(con.width), CRTC_H: BigInt(con.height),
      SRC_X: 0n, SRC_Y: 0n, SRC_W: BigInt(con.width) << 16n, SRC_H: BigInt(con.height) << 16n,
    };
    for (const [k, val] of Object.entries(vals)) pv.set(k, val);
  }
  card.completePending(new Set(b.crtcs.map((c) => c.id)));
  card.state = s;
}
