import type { DumbBuffer } from '../types';
import type { SimBuffer, SimDmabufTable } from './buffers';
import { newSimBuffer } from './buffers';

/**
 * One file's GEM handles (drm_gem.c), PRIME imports and exports (drm_prime.c) and dumb buffers
 * with their mmap offsets (drm_dumb_buffers.c). Handles are per file, as the kernel's
 * object_idr is, and die with the file.
 */

export interface Gem {
  buffer: SimBuffer;
  size: number;
  dumb: boolean;
}

type Fail = (code: string, ioctl: string, detail: string) => never;

const PAGE = 4096;

export class GemHandles {
  private readonly gems = new Map<number, Gem>();
  private readonly mapOffsets = new Map<bigint, number>();

  constructor(
    private readonly fail: Fail,
    private readonly dmabufs: SimDmabufTable,
    /** Pitch alignment of CREATE_DUMB (i915 aligns to 64 bytes; shmem drivers like vkms to 1). */
    private readonly pitchAlign: number,
  ) {}

  get count(): number {
    return this.gems.size;
  }

  get(handle: number): Gem | undefined {
    return this.gems.get(handle);
  }

  /** drm_gem_prime_fd_to_handle(): importing the same buffer again gives the same handle. */
  importFd(fd: number): number {
    const buf = this.dmabufs.lookup(fd, 'DRM_IOCTL_PRIME_FD_TO_HANDLE');
    for (const [h, g] of this.gems) if (g.buffer === buf) return h;
    // A GEM object is whole pages, whatever the exporter's pixels need.
    return this.add({ buffer: buf, size: Math.ceil(buf.pixels.length / PAGE) * PAGE, dumb: false });
  }

  exportHandle(handle: number): number {
    const g = this.gems.get(handle);
    if (!g) this.fail('ENOENT', 'DRM_IOCTL_PRIME_HANDLE_TO_FD', `no GEM handle ${handle}`);
    return this.dmabufs.export(g.buffer);
  }

  /** drm_gem_handle_delete(): GEM_CLOSE and DESTROY_DUMB alike; an unknown handle is EINVAL. */
  delete(handle: number, ioctl: string): void {
    if (!this.gems.delete(handle)) this.fail('EINVAL', ioctl, `no GEM handle ${handle}`);
    for (const [off, h] of this.mapOffsets) if (h === handle) this.mapOffsets.delete(off);
  }

  /** drm_mode_create_dumb(): size is the pitch times the height, page aligned. */
  createDumb(width: number, height: number, bpp: number): DumbBuffer {
    const I = 'DRM_IOCTL_MODE_CREATE_DUMB';
    // The core refuses zero sizes; the sim also refuses what no scanout could use (memory guard).
    if (!width || !height || !bpp || width > 16384 || height > 16384) this.fail('EINVAL', I, `${width}x${height}x${bpp}`);
    const pitch = Math.ceil((width * Math.ceil(bpp / 8)) / this.pitchAlign) * this.pitchAlign;
    const size = Math.ceil((pitch * height) / PAGE) * PAGE;
    const buffer = newSimBuffer({ width, height, stride: pitch, format: 0, modifier: 0n, pixels: Buffer.alloc(size) });
    return { handle: this.add({ buffer, size, dumb: true }), pitch, size };
  }

  /** drm_gem_dumb_map_offset(): an unknown handle is ENOENT; an imported (PRIME) object is EINVAL. */
  mapDumb(handle: number): bigint {
    const I = 'DRM_IOCTL_MODE_MAP_DUMB';
    const g = this.gems.get(handle);
    if (!g) this.fail('ENOENT', I, `no GEM handle ${handle}`);
    if (!g.dumb) this.fail('EINVAL', I, `GEM handle ${handle} is an imported buffer`);
    const offset = BigInt(handle) << 32n;
    this.mapOffsets.set(offset, handle);
    return offset;
  }

  /** mmap of a MAP_DUMB offset: the Buffer *is* the buffer's memory, as a shared mapping is. */
  mmap(offset: bigint, size: number): Buffer {
    const g = this.gems.get(this.mapOffsets.get(offset) ?? -1);
    if (!g) this.fail('EINVAL', 'mmap', `no mapping at offset 0x${offset.toString(16)}`);
    if (size > g.size) this.fail('EINVAL', 'mmap', `size ${size} beyond the ${g.size}-byte buffer`);
    return g.buffer.pixels.subarray(0, size);
  }

  /**
   * drm_gem_handle_create(): a new handle for the object every time, even when this file already
   * holds one for it (GETFB2 relies on this), numbered idr_alloc(&object_idr, obj, 1, 0): the
   * lowest free id from 1, so a closed handle's number comes back.
   */
  add(g: Gem): number {
    let h = 1;
    while (this.gems.has(h)) h++;
    this.gems.set(h, g);
    return h;
  }
}
