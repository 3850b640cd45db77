import { decodeModeInfo, MODEINFO_SIZE } from '../blobs';
import { DRM_MODE_ATOMIC, DRM_MODE_PROP } from '../constants';
import type { AtomicProp } from '../types';
import { checkAtomic } from './kms-atomic';
import type { Touched } from './kms-atomic';
import type { SimKmsFile } from './kms-file';
import { cloneState } from './kms-objects';
import { outlivesFiles } from './kms-persist';
import type { PropState, SimProperty } from './kms-objects';
import { invalidModeReason } from './modes';
import { renderWriteback } from './render';

const I = 'DRM_IOCTL_MODE_ATOMIC';
const ATOMIC_FLAGS = DRM_MODE_ATOMIC.PAGE_FLIP_EVENT | DRM_MODE_ATOMIC.PAGE_FLIP_ASYNC | DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.ALLOW_MODESET;

/**
 * DRM_IOCTL_MODE_ATOMIC after the ioctl's permission check (DRM_MASTER): drm_mode_atomic_ioctl()'s
 * own checks, the properties applied to a copy of the state, drm_atomic_check_only(), then for a
 * real commit the swap, the writeback job and the flip events. Anything refused leaves the card
 * exactly as it was.
 */
export function atomicCommit(file: SimKmsFile, props: AtomicProp[], flags: number, userData: bigint): void {
  // drm_mode_atomic_ioctl(): EOPNOTSUPP only when the *driver* lacks DRIVER_ATOMIC; a client that
  // did not set DRM_CLIENT_CAP_ATOMIC gets EINVAL ("commit failed: atomic cap not enabled").
  if (!file.atomicCap) file.fail('EINVAL', I, 'atomic cap not enabled (DRM_CLIENT_CAP_ATOMIC)');
  if (flags & ~ATOMIC_FLAGS) file.fail('EINVAL', I, `unknown flags 0x${flags.toString(16)}`);
  if (flags & DRM_MODE_ATOMIC.TEST_ONLY && flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT) file.fail('EINVAL', I, 'TEST_ONLY with PAGE_FLIP_EVENT');
  if (flags & DRM_MODE_ATOMIC.PAGE_FLIP_ASYNC) file.fail('EINVAL', I, 'async flips are not supported with atomic');
  const card = file.card;
  const next = cloneState(card.state);
  const touched: Touched = { crtcs: new Set(), planes: new Set(), connectors: new Set() };
  for (const ap of props) setProp(file, next, touched, ap);
  // prepare_signaling(): an event nobody could ever send is refused, not left pending forever.
  if (flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT && touched.crtcs.size === 0) file.fail('EINVAL', I, 'need at least one CRTC for DRM_MODE_PAGE_FLIP_EVENT');
  // prepare_signaling(): an event per CRTC in the commit, reserved from the file's 4 KiB before
  // the check, given back if the commit fails, and again as each event is read.
  const events = flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT ? touched.crtcs.size : 0;
  file.reserveEvents(events);
  try {
    checkAtomic(card.atomicContext(), card.state, next, touched, flags);
    if (flags & DRM_MODE_ATOMIC.NONBLOCK && !(flags & DRM_MODE_ATOMIC.TEST_ONLY)) {
      for (const c of touched.crtcs) if (card.hasPendingFlip(c)) file.fail('EBUSY', I, `[CRTC:${c}] has a flip pending`);
    }
  } catch (e) {
    file.releaseEvents(events);
    throw e;
  }
  if (flags & DRM_MODE_ATOMIC.TEST_ONLY) {
    card.counters.testOnly++;
    return;
  }
  if (!(flags & DRM_MODE_ATOMIC.NONBLOCK)) card.completePending(touched.crtcs);
  // Fence properties are one-shot: they read back as 0 / -1 after the commit
  // (drm_atomic_{crtc,plane,connector}_get_property).
  for (const id of [...touched.crtcs, ...touched.planes, ...touched.connectors]) {
    const v = next.get(id)!;
    for (const k of ['OUT_FENCE_PTR', 'WRITEBACK_OUT_FENCE_PTR']) if (v.has(k)) v.set(k, 0n);
    if (v.has('IN_FENCE_FD')) v.set('IN_FENCE_FD', BigInt.asUintN(64, -1n));
  }
  const keep = outlivesFiles(card, card.state, next, touched);
  card.state = next;
  card.counters.commits++;
  card.logCommit({ file: file.fd, flags, props: props.map((p) => ({ ...p })) });
  renderWriteback(card, touched);
  card.collectBlobs();
  if (keep) card.changed();
  const event = !!(flags & DRM_MODE_ATOMIC.PAGE_FLIP_EVENT);
  for (const crtcId of touched.crtcs) {
    if (flags & DRM_MODE_ATOMIC.NONBLOCK) card.addPending({ file, crtcId, userData, event });
    else if (event) file.queueEvent(card.flipEvent(crtcId, userData));
  }
}

/** drm_atomic_set_property() and drm_property_change_valid_get(). */
function setProp(file: SimKmsFile, next: PropState, touched: Touched, ap: AtomicProp): void {
  const o = file.obj(ap.objectId);
  if (!o || o.kind === 'encoder' || (o.kind === 'connector' && o.writeback && !file.writebackCap)) {
    file.fail('ENOENT', I, `no object ${ap.objectId}`);
  }
  const p = file.card.built.props.propOf(o.id, ap.propId);
  if (!p) file.fail('ENOENT', I, `object ${o.id} has no property ${ap.propId}`);
  const v = ap.value;
  if (p.flags & DRM_MODE_PROP.IMMUTABLE) file.fail('EINVAL', I, `${p.name} is immutable`);
  if (p.flags & DRM_MODE_PROP.RANGE && (v < p.values[0] || v > p.values[1])) file.fail('EINVAL', I, `${p.name}=${v} out of range`);
  if ((p.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.SIGNED_RANGE) {
    // The bounds are stored as __u64 (I642U64); drm_property_change_valid_get() compares as s64.
    const s = BigInt.asIntN(64, v);
    if (s < BigInt.asIntN(64, p.values[0]) || s > BigInt.asIntN(64, p.values[1])) file.fail('EINVAL', I, `${p.name}=${s} out of range`);
  }
  if (p.flags & DRM_MODE_PROP.ENUM && !p.enums.some((e) => e.value === v)) file.fail('EINVAL', I, `${p.name}=${v} is not an enum value`);
  if (p.flags & DRM_MODE_PROP.BITMASK) {
    const valid = p.enums.reduce((m, e) => m | (1n << e.value), 0n);
    if (v & ~valid) file.fail('EINVAL', I, `${p.name}=0x${v.toString(16)} sets bits the plane does not offer`);
    // drm_atomic_plane_set_property(): exactly one rotate-* bit.
    const rotate = v & 0xfn;
    if (p.name === 'rotation' && (rotate === 0n || (rotate & (rotate - 1n)) !== 0n)) file.fail('EINVAL', I, `rotation=0x${v.toString(16)} needs exactly one rotate-* bit`);
  }
  if ((p.flags & DRM_MODE_PROP.EXTENDED_TYPE) === DRM_MODE_PROP.OBJECT && v !== 0n) {
    // drm_property_change_valid_get() looks the object up for nobody in particular: none is EINVAL.
    const fb = p.name.endsWith('FB_ID');
    const exists = fb ? file.card.fbs.has(Number(v)) : file.card.built.crtcs.some((c) => c.id === Number(v));
    if (!exists) file.fail('EINVAL', I, `${p.name}=${v} names no such object`);
    // drm_atomic_{plane,connector}_set_property() then finds the CRTC as this file sees objects
    // (drm_crtc_find with file_priv): a lessee naming a CRTC it does not hold gets EACCES.
    if (!fb && file.obj(Number(v))?.kind !== 'crtc') file.fail('EACCES', I, `[PROP:${p.id}:${p.name}] cannot find CRTC with ID ${v}`);
  }
  // drm_atomic_plane_set_property(): IN_FENCE_FD must name a sync_file; the sim has none.
  if (p.name === 'IN_FENCE_FD' && BigInt.asIntN(64, v) !== -1n) file.fail('EINVAL', I, `IN_FENCE_FD ${BigInt.asIntN(64, v)} is not a sync_file`);
  if (p.flags & DRM_MODE_PROP.BLOB && v !== 0n) {
    const b = file.card.blobs.get(Number(v));
    if (!b) file.fail('EINVAL', I, `${p.name}=${v} names no blob`);
    if (p.name === 'MODE_ID' && b.data.length !== MODEINFO_SIZE) file.fail('EINVAL', I, `MODE_ID blob is ${b.data.length} bytes`);
    const bad = p.name === 'MODE_ID' ? invalidModeReason(decodeModeInfo(b.data)) : null;
    if (bad) file.fail('EINVAL', I, `MODE_ID blob ${v}: ${bad}`);
    checkBlobLength(file, p, b.data.length, next.get(o.id)!);
  }
  // drm_atomic_connector_set_property(): "only drivers can set CP Enabled".
  if (p.name === 'Content Protection' && p.enums.find((e) => e.value === v)?.name === 'Enabled') file.fail('EINVAL', I, 'only drivers can set Content Protection to Enabled');
  const vals = next.get(o.id)!;
  if (o.kind === 'connector' && p.name === 'link-status') {
    // drm_atomic_connector_set_property(): userspace may only raise Bad to Good, never lower it.
    // The change makes the connector's CRTC a modeset (connectors_changed): the retrain.
    const crtc = Number(vals.get('CRTC_ID'));
    if (crtc) touched.crtcs.add(crtc);
    touched.connectors.add(o.id);
    if (vals.get('link-status') !== 0n) vals.set(p.name, v);
    return;
  }
  if (o.kind === 'plane' || (o.kind === 'connector' && p.name === 'CRTC_ID')) {
    // The old and the new CRTC both join the state, as drm_atomic_get_crtc_state() does.
    const old = Number(vals.get('CRTC_ID'));
    if (old) touched.crtcs.add(old);
    if (p.name === 'CRTC_ID' && v) touched.crtcs.add(Number(v));
  }
  if (o.kind === 'crtc') touched.crtcs.add(o.id);
  if (o.kind === 'plane') touched.planes.add(o.id);
  if (o.kind === 'connector') touched.connectors.add(o.id);
  vals.set(p.name, v);
}

/**
 * drm_atomic_replace_property_blob_from_id(): a blob of the wrong length (expected_size) or not a
 * whole number of elements (expected_elem_size) is EINVAL; i915's check_luts() also wants exactly
 * the LUT size the CRTC advertises.
 */
function checkBlobLength(file: SimKmsFile, p: SimProperty, length: number, vals: Map<string, bigint>): void {
  const need = p.blob;
  if (!need) return;
  if (need.size !== undefined && length !== need.size) file.fail('EINVAL', I, `${p.name} blob is ${length} bytes, the kernel takes exactly ${need.size}`);
  if (need.elementSize && length % need.elementSize) file.fail('EINVAL', I, `${p.name} blob of ${length} bytes is not a whole number of ${need.elementSize}-byte elements`);
  const count = need.countProperty ? vals.get(need.countProperty) : undefined;
  if (count !== undefined && need.elementSize && BigInt(length / need.elementSize) !== count) {
    file.fail('EINVAL', I, `${p.name}: invalid LUT size; got ${length / need.elementSize}, expected ${count}`);
  }
}
