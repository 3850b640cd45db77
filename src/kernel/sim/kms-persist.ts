import { newSimBuffer } from './buffers';
import type { Touched } from './kms-atomic';
import type { SimCard } from './kms-card';
import type { PropState } from './kms-objects';
import type { SimVfio } from './vfio';

/**
 * What a kernel keeps when every process that used it is gone, as plain JSON: property values,
 * the blobs they reference, connector status, the mdevs and their kernel fbs, and the layout of
 * the fbs the dead processes left on planes (so their removal can be replayed). Per-frame flips
 * between a process's own fbs are not worth a write: those fbs die with the process either way.
 */
export interface SavedKernel {
  format: 'directflip-sim-kernel/1';
  /** sha256 of the profile: another profile on the same root is another machine. */
  profile: string;
  /** The process that wrote it, 0 once it let go (SimHost.stop). */
  pid: number;
  openFiles: number;
  /** object id → [property name, u64 as decimal][] */
  props: [number, [string, string][]][];
  /** Blobs the state references, beyond the boot ones: id, base64, whose. */
  blobs: [number, string, 'kernel' | 'file' | 'destroyed'][];
  /** Process-owned fbs the state references. */
  deadFbs: { id: number; width: number; height: number; format: number; modifier: string; pitch: number }[];
  connectors: [number, number][];
  mdevs: { uuid: string; type: string; heldByQemu: boolean; fbs: [string, number][] }[];
}

const ONE_SHOT = new Set(['OUT_FENCE_PTR', 'WRITEBACK_OUT_FENCE_PTR', 'IN_FENCE_FD']);

/**
 * Whether a commit changed anything the kernel keeps beyond the committing process: true unless
 * every change is an FB_ID moving between fbs that processes own.
 */
export function outlivesFiles(card: SimCard, old: PropState, next: PropState, touched: Touched): boolean {
  const processFb = (v: bigint | undefined) => !!v && !!card.fbs.get(Number(v))?.owner;
  for (const id of [...touched.crtcs, ...touched.planes, ...touched.connectors]) {
    const a = old.get(id)!;
    for (const [k, v] of next.get(id)!) {
      const was = a.get(k);
      if (was === v || ONE_SHOT.has(k)) continue;
      if (k === 'FB_ID' && processFb(was) && processFb(v)) continue;
      return true;
    }
  }
  return false;
}

export function snapshotKernel(card: SimCard, vfio: SimVfio, profile: string, pid: number): SavedKernel {
  const blobNames = card.blobPropNames();
  const referenced = new Set<number>();
  const fbIds = new Set<number>();
  for (const [, v] of card.state) {
    for (const [k, val] of v) {
      if (k === 'FB_ID' || k === 'WRITEBACK_FB_ID') fbIds.add(Number(val));
      else if (blobNames.has(k)) referenced.add(Number(val));
    }
  }
  const blobs: SavedKernel['blobs'] = [];
  for (const [id, b] of card.blobs) {
    if (card.built.blobs.has(id) || !referenced.has(id)) continue;
    blobs.push([id, b.data.toString('base64'), b.destroyed ? 'destroyed' : b.owner ? 'file' : 'kernel']);
  }
  const deadFbs: SavedKernel['deadFbs'] = [];
  for (const id of fbIds) {
    const fb = card.fbs.get(id);
    if (fb?.owner) deadFbs.push({ id, width: fb.width, height: fb.height, format: fb.format, modifier: fb.modifier.toString(), pitch: fb.pitches[0] });
  }
  return {
    format: 'directflip-sim-kernel/1', profile, pid, openFiles: card.files.size,
    props: [...card.state].map(([id, v]) => [id, [...v].map(([k, val]) => [k, val.toString()])]),
    blobs, deadFbs,
    connectors: card.built.connectors.map((c) => [c.id, c.status]),
    mdevs: [...vfio.mdevs.values()].map((m) => ({ uuid: m.uuid, type: m.type, heldByQemu: m.heldByQemu, fbs: [...m.drmFbs] })),
  };
}

/**
 * Boots the card and the mdevs into the saved state, then lets the kernel close the dead
 * processes' files: their fbs are removed (planes off, or the CRTC too where the driver insists),
 * their blobs destroyed, and the last close lets fbdev restore the console.
 */
export function resumeKernel(card: SimCard, vfio: SimVfio, saved: SavedKernel): void {
  for (const [id, props] of saved.props) {
    const v = card.state.get(id);
    if (!v) continue;
    for (const [k, val] of props) if (v.has(k)) v.set(k, BigInt(val));
  }
  for (const [id, status] of saved.connectors) {
    const c = card.built.connectors.find((x) => x.id === id);
    if (c) c.status = status;
  }
  for (const m of saved.mdevs) {
    const mdev = vfio.mdevs.get(m.uuid) ?? vfio.createMdev(m.uuid, m.type);
    mdev.heldByQemu = m.heldByQemu;
    for (const [plane, fbId] of m.fbs) {
      const p = mdev.planes[plane as 'primary' | 'cursor'];
      if (!p) continue;
      card.kernelFb(p.buffer, fbId);
      mdev.drmFbs.set(plane, fbId);
    }
  }
  const dead = saved.openFiles > 0 || saved.deadFbs.length > 0 || saved.blobs.some((b) => b[2] === 'file');
  const ghost = dead ? card.open() : null;
  for (const [id, data, whose] of saved.blobs) {
    card.blobs.set(id, { data: Buffer.from(data, 'base64'), owner: whose === 'file' ? ghost : null, destroyed: whose === 'destroyed' });
  }
  for (const f of saved.deadFbs) {
    const buffer = newSimBuffer({ width: f.width, height: f.height, stride: f.pitch, format: f.format, modifier: BigInt(f.modifier) });
    card.fbs.set(f.id, {
      id: f.id, width: f.width, height: f.height, format: f.format, modifier: BigInt(f.modifier), owner: ghost, flags: 0,
      objs: [{ buffer, size: buffer.pixels.length, dumb: false }], pitches: [f.pitch], offsets: [0], modifiers: [BigInt(f.modifier)], buffer,
    });
  }
  // A plane left on an fb nobody knows (not written: it was a process's) goes dark with it.
  for (const p of card.built.planes) {
    const v = card.state.get(p.id)!;
    const fbId = Number(v.get('FB_ID'));
    if (fbId && !card.fbs.has(fbId)) for (const k of ['FB_ID', 'CRTC_ID']) v.set(k, 0n);
  }
  ghost?.close();
  card.collectBlobs();
}
