/**
 * Every property of every KMS object the card lists, read straight from the ioctls (not through
 * readTopology, so nothing it leaves out escapes): CRTCs, connectors (writeback ones too, given
 * the client cap) and planes. Encoders have none (OBJ_GETPROPERTIES answers EINVAL for an object
 * without a property list, drm_mode_object.c). Blob properties are compared by their bytes, since a
 * restore may give back the same contents in a new blob.
 */
import { createHash } from 'node:crypto';
import { DRM_MODE_OBJECT, DRM_MODE_PROP } from '../../src/kernel/constants';
import type { KmsDevice, PropertyInfo } from '../../src/kernel/types';

export interface FullDump {
  /** `kind:id` → property name → value (a blob as `blob <sha256 prefix> <n> bytes`). */
  objects: Record<string, Record<string, string>>;
  properties: number;
  blobs: number;
}

export function fullDump(dev: KmsDevice): FullDump {
  const r = dev.getResources();
  const objects: [string, number, number][] = [
    ...r.crtcs.map((id): [string, number, number] => ['crtc', id, DRM_MODE_OBJECT.CRTC]),
    ...r.connectors.map((id): [string, number, number] => ['connector', id, DRM_MODE_OBJECT.CONNECTOR]),
    ...dev.getPlaneResources().map((id): [string, number, number] => ['plane', id, DRM_MODE_OBJECT.PLANE]),
  ];
  const infos = new Map<number, PropertyInfo>();
  const out: FullDump = { objects: {}, properties: 0, blobs: 0 };
  for (const [kind, id, type] of objects) {
    const o: Record<string, string> = {};
    const p = dev.objGetProperties(id, type);
    p.props.forEach((propId, i) => {
      let info = infos.get(propId);
      if (!info) infos.set(propId, (info = dev.getProperty(propId)));
      const v = p.values[i];
      out.properties++;
      if (!(info.flags & DRM_MODE_PROP.BLOB)) return void (o[info.name] = v.toString());
      out.blobs++;
      if (v === 0n) return void (o[info.name] = 'no blob');
      const bytes = dev.getPropBlob(Number(v));
      o[info.name] = `blob ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)} ${bytes.length} bytes`;
    });
    out.objects[`${kind}:${id}`] = o;
  }
  return out;
}
