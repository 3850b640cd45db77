import { fstatSync } from 'node:fs';
import { DRM_FORMAT_MOD, fourccName } from '../kernel/constants';
import { formatInfo } from '../kernel/formats';
import type { Rect } from './plane-props';

/** One plane of a guest buffer: the dma-buf it lives in, where it starts and its row length. */
export interface LayoutPlane {
  fd: number;
  offset: number;
  pitch: number;
}

/**
 * A guest buffer as ADDFB2 takes it: the whole backing (`width`×`height`), every plane, and the
 * part of it the console shows (`src`).
 */
export interface DmabufLayout {
  width: number;
  height: number;
  fourcc: number;
  /** DRM_FORMAT_MOD_INVALID when the producer named none (then ADDFB2 gets no modifier at all). */
  modifier: bigint;
  planes: LayoutPlane[];
  src: Rect;
  y0Top: boolean;
}

const U32 = 0xffffffff;

/** A refusal of a ScanoutDMABUF2 whose numbers do not describe a buffer: QEMU hears why. */
export class BadLayout extends Error {
  readonly code = 'EDF_BAD_DMABUF_LAYOUT';
}

function bad(why: string): never {
  throw new BadLayout(`ScanoutDMABUF2 ${why}`);
}

/** ScanoutDMABUF (one plane, the whole buffer shown) in the same terms. */
export function singlePlane(fd: number, width: number, height: number, stride: number, fourcc: number, modifier: bigint, y0Top: boolean): DmabufLayout {
  return { width, height, fourcc, modifier, planes: [{ fd, offset: 0, pitch: stride }], src: { x: 0, y: 0, w: width, h: height }, y0Top };
}

/**
 * ScanoutDMABUF2's body (ui/dbus-display1.xml, QEMU 10.1: `ah u u u u au au u u u u t b`) read as
 * hostile input. `fds`: the message's own fds, which the `ah` handles must be exactly.
 *
 * QEMU sends the fds of the leading planes whose fd is valid (its loop stops at the first -1,
 * which EGL reports for a plane sharing the previous plane's buffer): a plane past the last fd
 * lives in the last buffer sent. The kernel checks the rest again (framebuffer_check), but what
 * can be refused here is refused before any import, with the number that is wrong.
 */
export function readDmabuf2(body: unknown[], fds: number[]): DmabufLayout {
  const [handles, x, y, width, height, offsets, strides, nPlanes, fourcc, bw, bh, modifier, y0Top] = body as [
    number[], number, number, number, number, number[], number[], number, number, number, number, bigint | number, boolean,
  ];
  if (handles.length === 0 || handles.length > 4) bad(`carried ${handles.length} dma-buf handles (1 to 4 are valid)`);
  if (handles.length !== fds.length || handles.some((h, i) => h !== fds[i])) bad(`names ${handles.length} dma-bufs but the message brought ${fds.length} file descriptors`);
  const info = formatInfo(fourcc);
  if (!info) bad(`format 0x${fourcc.toString(16)} (${printableFourcc(fourcc)}) is not one directflip can describe`);
  // A modifier may add auxiliary planes (i915's CCS: a control surface per colour plane), whose
  // layout only the driver knows (its get_format_info): those are left to ADDFB2 to judge.
  const aux = BigInt(modifier) !== DRM_FORMAT_MOD.INVALID && BigInt(modifier) !== DRM_FORMAT_MOD.LINEAR;
  if (aux ? nPlanes < info.cpp.length || nPlanes > 4 : nPlanes !== info.cpp.length) {
    bad(`says ${nPlanes} planes, but ${printableFourcc(fourcc)} has ${info.cpp.length}${aux ? ' (and a modifier at most 4 in all)' : ''}`);
  }
  if (handles.length > nPlanes) bad(`carried ${handles.length} dma-bufs for ${nPlanes} planes`);
  if (offsets.length !== nPlanes || strides.length !== nPlanes) bad(`gave ${offsets.length} offsets and ${strides.length} strides for ${nPlanes} planes`);
  if (!width || !height || !bw || !bh) bad(`has an empty picture (${width}x${height}) or backing (${bw}x${bh})`);
  if (x + width > bw || y + height > bh) bad(`shows ${width}x${height}+${x}+${y}, outside its ${bw}x${bh} backing`);
  const sizes = fds.map(dmabufSize);
  const planes = offsets.map((offset, i) => {
    const pw = i === 0 ? bw : Math.ceil(bw / info.hsub);
    const ph = i === 0 ? bh : Math.ceil(bh / info.vsub);
    const pitch = strides[i];
    const buf = Math.min(i, fds.length - 1);
    if (i >= info.cpp.length) return { fd: fds[buf], offset, pitch };
    if (pitch < pw * info.cpp[i]) bad(`plane ${i}: stride ${pitch} is less than its ${pw} pixels take (${pw * info.cpp[i]} bytes)`);
    const end = offset + pitch * (ph - 1) + pw * info.cpp[i];
    if (offset + pitch * ph > U32) bad(`plane ${i}: offset ${offset} + ${ph} rows of ${pitch} bytes ends beyond 4 GiB`);
    if (sizes[buf] !== null && end > sizes[buf]) bad(`plane ${i}: bytes ${offset}..${end} lie beyond its ${sizes[buf]}-byte dma-buf`);
    return { fd: fds[buf], offset, pitch };
  });
  return { width: bw, height: bh, fourcc, modifier: BigInt(modifier), planes, src: { x, y, w: width, h: height }, y0Top };
}

/** A dma-buf's size where the kernel tells it (fstat on a dma-buf gives it); null where not. */
function dmabufSize(fd: number): number | null {
  try {
    const size = fstatSync(fd).size;
    return size > 0 ? size : null;
  } catch {
    return null;
  }
}

/** A fourcc as QEMU sent it, safe to put in a message: quoted when printable. */
export function printableFourcc(f: number): string {
  const name = fourccName(f);
  return /^[\x20-\x7e]{4}$/.test(name) ? JSON.stringify(name) : 'unprintable';
}

/** ADDFB2's view of a layout: one GEM handle per plane; a modifier only when one was named. */
export function addFb2Planes(l: DmabufLayout, handleOf: (fd: number) => number) {
  const mods = l.modifier !== DRM_FORMAT_MOD.INVALID;
  return {
    handles: l.planes.map((p) => handleOf(p.fd)),
    pitches: l.planes.map((p) => p.pitch),
    offsets: l.planes.map((p) => p.offset),
    modifiers: l.planes.map(() => (mods ? l.modifier : 0n)),
    withModifiers: mods,
  };
}
