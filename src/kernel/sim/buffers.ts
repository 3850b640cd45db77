import { closeSync, fstatSync, readlinkSync } from 'node:fs';
import { kernelError } from '../errors';
import { loadAddon } from '../native';

/**
 * Memory shared between the simulated subsystems: a guest plane exported by the simulated VFIO
 * device as a dma-buf is the same object the simulated KMS imports with PRIME and scans out.
 * Pixels are kept so that a CRTC's output can be rendered and compared pixel for pixel.
 */
export interface SimBuffer {
  /** Identity of the memory, stable across exports ("buffer identity" for fb caches). */
  readonly id: number;
  width: number;
  height: number;
  /** Bytes per row in `pixels`. */
  stride: number;
  /** DRM fourcc. */
  format: number;
  modifier: bigint;
  /** Row-major bytes, `stride * height` long. Tiled modifiers are stored linear (simulation). */
  pixels: Buffer;
}

let nextBufferId = 1;

export function newSimBuffer(init: Omit<SimBuffer, 'id' | 'pixels'> & { pixels?: Buffer }): SimBuffer {
  const pixels = init.pixels ?? Buffer.alloc(init.stride * init.height);
  if (pixels.length < init.stride * init.height) throw new RangeError('pixels shorter than stride * height');
  return { ...init, id: nextBufferId++, pixels };
}

/**
 * The simulated host's dma-buf fds. Numbers start high so they never collide with real fds a test
 * might also hold; each export gets a new fd, as the kernel would.
 */
export class SimDmabufTable {
  private next = 100000;
  private readonly fds = new Map<number, SimBuffer>();
  /** udmabufs, by the inode of their memfd: the same buffer under any fd number, in any process. */
  private readonly memfds = new Map<string, SimBuffer>();
  /** udmabufs made through /dev/udmabuf, by their own fd. */
  private readonly created = new Map<number, { inode: string; buf: SimBuffer }>();

  export(buf: SimBuffer): number {
    const fd = this.next++;
    this.fds.set(fd, buf);
    return fd;
  }

  /**
   * udmabuf (UDMABUF_CREATE): a memfd's pages become a dma-buf. The simulator cannot mint a new
   * kind of fd, so the memfd itself stands for the dma-buf, recognised by its inode under
   * whatever number it arrives (after SCM_RIGHTS, say). Its pages are mapped, as the kernel pins
   * them, so what the producer writes is what the simulated display scans out.
   */
  udmabuf(memfd: number): number {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${memfd}`);
    } catch {
      throw kernelError('EBADF', 'UDMABUF_CREATE', '/dev/udmabuf', `fd ${memfd} is not open`);
    }
    if (!link.startsWith('/memfd:')) throw kernelError('EINVAL', 'UDMABUF_CREATE', '/dev/udmabuf', `fd ${memfd} is ${link}, not a memfd`);
    const st = fstatSync(memfd);
    if (!st.size || st.size % 4096) throw kernelError('EINVAL', 'UDMABUF_CREATE', '/dev/udmabuf', `memfd size ${st.size} is not a positive multiple of the page size`);
    const pixels = loadAddon().mmap(memfd, link, 0n, st.size);
    this.memfds.set(`${st.dev}:${st.ino}`, newSimBuffer({ width: st.size / 4, height: 1, stride: st.size, format: 0, modifier: 0n, pixels }));
    return memfd;
  }

  /**
   * /dev/udmabuf's dma-buf (sim/udmabuf.ts): `fd`, a new fd of `memfd`, stands for bytes
   * offset..offset+size of it, mapped now as the kernel pins them. Known by its fd number and
   * the inode behind it, so a number reused for another file is not mistaken for it.
   */
  addUdmabuf(fd: number, memfd: number, offset: number, size: number): void {
    const st = fstatSync(fd);
    const pixels = loadAddon().mmap(memfd, `/proc/self/fd/${memfd}`, BigInt(offset), size);
    this.created.set(fd, { inode: `${st.dev}:${st.ino}`, buf: newSimBuffer({ width: size / 4, height: 1, stride: size, format: 0, modifier: 0n, pixels }) });
  }

  /** EBADF like any syscall on a closed or never-opened fd; EINVAL for an fd that is no dma-buf. */
  lookup(fd: number, syscall: string): SimBuffer {
    const b = this.fds.get(fd);
    if (b) return b;
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      throw kernelError('EBADF', syscall, undefined, `fd ${fd} is not an open dma-buf`);
    }
    const made = this.created.get(fd);
    if (made?.inode === `${st.dev}:${st.ino}`) return made.buf;
    const m = this.memfds.get(`${st.dev}:${st.ino}`);
    if (!m) throw kernelError('EINVAL', syscall, undefined, `fd ${fd} is not a dma-buf`);
    return m;
  }

  has(fd: number): boolean {
    return this.fds.has(fd);
  }

  close(fd: number): void {
    if (this.fds.delete(fd)) return;
    this.created.delete(fd);
    try {
      closeSync(fd);
    } catch {
      throw kernelError('EBADF', 'close', undefined, `fd ${fd}`);
    }
  }

  get openCount(): number {
    return this.fds.size;
  }
}
