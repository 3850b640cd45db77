import { DRM_CLIENT_CAP, fourccName, modifierName } from '../kernel/constants';
import type { Host } from '../kernel/host';
import { readTopology } from '../kernel/topology';
import type { Topology } from '../kernel/topology';
import { listMdevs } from '../sys/mdevs';
import { allowedFeatures } from '../versions/allow';
import type { Allowed } from '../versions/allow';
import { readHostVersions } from '../versions/read';
import type { HostVersions } from '../versions/read';
import { probeMdev } from './mdev-caps';
import type { MdevReport } from './mdev-caps';

/** What `directflip probe` reports: plain JSON-able data about one host. */
export interface ProbeReport {
  host: string;
  card: string;
  driver: { name: string; desc: string; version: string };
  cursor: { width: number; height: number };
  connectors: { id: number; name: string; status: string; crtcId: number; possibleCrtcs: number[]; modes: string[] }[];
  crtcs: { id: number; index: number; pipe: string; active: boolean; mode: string | null; fbId: number }[];
  planes: {
    id: number;
    type: string;
    possibleCrtcs: number[];
    formats: { format: string; modifiers: string[] }[];
    zpos: number | null;
    zposImmutable: boolean | null;
    crtcId: number;
    fbId: number;
  }[];
  mdevs: MdevReport[];
  /** QEMU, libvirt and the kernel as this host's binaries and /proc say. */
  versions: HostVersions;
  /** What those versions allow (src/versions/facts.ts). */
  features: Allowed[];
}

export const modeName = (m: { hdisplay: number; vdisplay: number; vrefresh: number }) => `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}`;

export function probeHost(host: Host): ProbeReport {
  const card = host.cards()[0];
  const dev = host.backend.openKms(card);
  let t: Topology;
  try {
    dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 1);
    t = readTopology(dev);
  } finally {
    dev.close();
  }
  return {
    host: host.label,
    card,
    driver: { name: t.driver.name, desc: t.driver.desc, version: `${t.driver.major}.${t.driver.minor}.${t.driver.patch}` },
    cursor: t.cursor,
    connectors: t.connectors.map((c) => ({ id: c.id, name: c.name, status: c.status, crtcId: c.crtcId, possibleCrtcs: c.possibleCrtcs, modes: c.modes.map(modeName) })),
    crtcs: t.crtcs.map((c) => ({ id: c.id, index: c.index, pipe: String.fromCharCode(65 + c.index), active: c.active, mode: c.mode ? modeName(c.mode) : null, fbId: c.fbId })),
    planes: t.planes.map((p) => ({
      id: p.id, type: p.type, possibleCrtcs: p.possibleCrtcs,
      formats: p.formats.map((f) => ({ format: fourccName(f).trim(), modifiers: (p.modifiers.get(f) ?? []).map(modifierName) })),
      zpos: p.zpos?.value ?? null, zposImmutable: p.zpos?.immutable ?? null, crtcId: p.crtcId, fbId: p.fbId,
    })),
    mdevs: listMdevs(host.sys).map((m) => probeMdev(host, m)),
    ...versionsOf(host),
  };
}

function versionsOf(host: Host): { versions: HostVersions; features: Allowed[] } {
  const versions = readHostVersions(host.sys);
  return { versions, features: allowedFeatures(versions) };
}
