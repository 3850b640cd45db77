import type { Layer, Picture, Rect } from './picture';

/** One plane as `directflip status` reads it from the daemon. */
export interface StatusPlane {
  connector: string;
  mode: string;
  crtc: number;
  plane: number;
  planeType: string;
  from: string;
  source: string;
  dst: Rect;
  zpos: number | null;
}

/** A plane of the card as the host has it: for the planes no domain holds. */
export interface CardPlane {
  planeId: number;
  planeType: string;
  crtcId: number;
  fbId: number;
  dst: Rect;
  zpos: number;
}

/** DRM_PLANE_TYPE_* values of a plane's `type` property. */
const PLANE_TYPES: Record<string, string> = { 0: 'overlay', 1: 'primary', 2: 'cursor' };

/**
 * The card's planes from a property dump (`Simulator.DumpProperties`: `plane:ID` → name →
 * decimal value). Without a zpos property a plane blends in id order, which is what the
 * simulated drivers do.
 */
export function cardPlanesFromDump(dump: Record<string, Record<string, string>>): CardPlane[] {
  return Object.entries(dump)
    .filter(([k]) => k.startsWith('plane:'))
    .map(([k, p]) => {
      const n = (name: string) => Number(p[name] ?? 0);
      const id = Number(k.slice('plane:'.length));
      return { planeId: id, planeType: PLANE_TYPES[p.type] ?? 'overlay', crtcId: n('CRTC_ID'), fbId: n('FB_ID'), dst: { x: n('CRTC_X'), y: n('CRTC_Y'), w: n('CRTC_W'), h: n('CRTC_H') }, zpos: p.zpos !== undefined ? n('zpos') : id };
    });
}

/**
 * What the daemon shows: per connector the mode (from the status's `WxH@Hz` label), every
 * domain's planes on it and, when the card could be read (`card`; else `why` says why not),
 * the planes the host keeps on the same CRTC.
 */
export function statusPicture(domains: { domain: string; planes: StatusPlane[] }[], card: CardPlane[] | null, why = ''): Picture {
  const byConnector = new Map<string, { crtc: number; mode: string; layers: Layer[] }>();
  for (const d of domains) {
    for (const p of d.planes) {
      const s = byConnector.get(p.connector) ?? { crtc: p.crtc, mode: p.mode, layers: [] };
      byConnector.set(p.connector, s);
      const zpos = p.zpos ?? card?.find((c) => c.planeId === p.plane)?.zpos ?? p.plane;
      s.layers.push({ planeId: p.plane, planeType: p.planeType, kind: p.from === 'cursor' ? 'cursor' : 'guest', owner: d.domain, zpos, dst: p.dst, label: `plane ${p.plane} ${p.planeType} ← ${d.domain} ${p.from} (${p.source})` });
    }
  }
  const held = new Set(domains.flatMap((d) => d.planes.map((p) => p.plane)));
  const screens = [...byConnector].map(([connector, s]) => {
    const kept: Layer[] = (card ?? [])
      .filter((c) => c.crtcId === s.crtc && c.fbId !== 0 && !held.has(c.planeId))
      .map((c) => ({ planeId: c.planeId, planeType: c.planeType, kind: 'host', owner: 'host', zpos: c.zpos, dst: c.dst, label: `plane ${c.planeId} ${c.planeType}: host, kept` }));
    const [w, h] = (/^(\d+)x(\d+)/.exec(s.mode) ?? ['', '0', '0']).slice(1).map(Number);
    return { connector, crtcId: s.crtc, width: w, height: h, mode: s.mode, layers: [...kept, ...s.layers] };
  });
  const notes = card ? [] : [`host planes not drawn: ${why}`];
  if (!screens.length) notes.unshift('directflipd shows no domain');
  return { title: 'directflip status', screens, notes };
}
