import { decodeModeInfo } from '../blobs';
import { DRM_MODE_PROP } from '../constants';
import type { CardResources, ConnectorInfo, CrtcInfo, EncoderInfo, ObjectProperties, PlaneInfo } from '../types';
import type { SimKmsFile } from './kms-file';
import { OBJECT_TYPE } from './kms-objects';

/**
 * The GET ioctls of one file (drm_mode_getresources, getconnector, getencoder, getcrtc,
 * getplane_res, getplane, obj_getproperties): the card as this file may see it (a lessee only
 * what it holds, writeback connectors only with the cap, primaries and cursors with
 * UNIVERSAL_PLANES, atomic properties with ATOMIC).
 */

export function resources(f: SimKmsFile): CardResources {
  const b = f.card.built;
  const l = f.card.profile.limits;
  return {
    fbs: [...f.card.fbs.values()].filter((fb) => fb.owner === f).map((fb) => fb.id),
    crtcs: b.crtcs.filter((c) => f.holds(c)).map((c) => c.id),
    connectors: b.connectors.filter((c) => (!c.writeback || f.writebackCap) && f.holds(c)).map((c) => c.id),
    encoders: b.encoders.map((e) => e.id),
    ...l,
  };
}

export function connectorInfo(f: SimKmsFile, id: number): ConnectorInfo {
  const c = f.visibleConnector(id, 'DRM_IOCTL_MODE_GETCONNECTOR');
  const crtcId = Number(f.card.state.get(c.id)!.get('CRTC_ID'));
  return {
    connectorId: c.id, encoderId: crtcId ? c.encoder.id : 0, connectorType: c.connectorType, connectorTypeId: c.typeId,
    connection: c.status, mmWidth: c.mmWidth, mmHeight: c.mmHeight, subpixel: 1,
    modes: c.status === 1 ? c.modes.map((m) => ({ ...m })) : [], encoders: [c.encoder.id],
  };
}

export function encoderInfo(f: SimKmsFile, id: number): EncoderInfo {
  const e = f.card.built.encoders.find((x) => x.id === id);
  if (!e) f.fail('ENOENT', 'DRM_IOCTL_MODE_GETENCODER', `no encoder ${id}`);
  const conn = f.card.built.connectors.find((c) => c.encoder === e)!;
  // Each encoder clones only itself: drm_mode_config_validate() adds the encoder's own bit.
  const possibleClones = 1 << f.card.built.encoders.indexOf(e);
  return { encoderId: e.id, encoderType: e.encoderType, crtcId: Number(f.card.state.get(conn.id)!.get('CRTC_ID')), possibleCrtcs: e.possibleCrtcs, possibleClones };
}

export function crtcInfo(f: SimKmsFile, id: number): CrtcInfo {
  const c = f.card.built.crtcs.find((x) => x.id === id && f.holds(x));
  if (!c) f.fail('ENOENT', 'DRM_IOCTL_MODE_GETCRTC', `no CRTC ${id}`);
  const v = f.card.state.get(c.id)!;
  const blob = f.card.blobs.get(Number(v.get('MODE_ID')));
  const primary = f.card.built.planes.find((p) => p.type === 'primary' && Number(f.card.state.get(p.id)!.get('CRTC_ID')) === c.id);
  const pv = primary && f.card.state.get(primary.id)!;
  return {
    crtcId: c.id, fbId: pv ? Number(pv.get('FB_ID')) : 0, x: pv ? Number(pv.get('SRC_X')! >> 16n) : 0, y: pv ? Number(pv.get('SRC_Y')! >> 16n) : 0,
    gammaSize: 256, modeValid: !!blob, mode: blob ? decodeModeInfo(blob.data) : null,
  };
}

export function planeIds(f: SimKmsFile): number[] {
  return f.card.built.planes.filter((p) => (p.type === 'overlay' || f.universalPlanes) && f.holds(p)).map((p) => p.id);
}

export function planeInfo(f: SimKmsFile, id: number): PlaneInfo {
  const p = f.card.built.planes.find((x) => x.id === id && f.holds(x));
  if (!p) f.fail('ENOENT', 'DRM_IOCTL_MODE_GETPLANE', `no plane ${id}`);
  const v = f.card.state.get(p.id)!;
  return { planeId: p.id, crtcId: Number(v.get('CRTC_ID')), fbId: Number(v.get('FB_ID')), possibleCrtcs: p.possibleCrtcs, gammaSize: 0, formats: [...p.formats] };
}

export function objectProperties(f: SimKmsFile, objectId: number, objectType: number): ObjectProperties {
  const o = f.obj(objectId);
  if (!o || (objectType !== 0 && OBJECT_TYPE[o.kind] !== objectType) || (o.kind === 'connector' && o.writeback && !f.writebackCap)) {
    f.fail('ENOENT', 'DRM_IOCTL_MODE_OBJ_GETPROPERTIES', `no object ${objectId} of type 0x${objectType.toString(16)}`);
  }
  const t = f.card.built.props;
  // drm_mode_object_get_properties(): atomic-only properties are hidden from non-atomic clients.
  const ids = (t.attached.get(objectId) ?? []).filter((pid) => f.atomicCap || !(t.byId.get(pid)!.flags & DRM_MODE_PROP.ATOMIC));
  const vals = f.card.state.get(objectId)!;
  return { props: ids, values: ids.map((pid) => vals.get(t.byId.get(pid)!.name)!) };
}
