import { kernelError } from '../errors';

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

  export(buf: SimBuffer): number {
    const fd = this.next++;
    this.fds.set(fd, buf);
    return fd;
  }

  /** EBADF like any syscall on a closed or never-opened fd. */
  lookup(fd: number, syscall: string): SimBuffer {
    const b = this.fds.get(fd);
    if (!b) throw kernelError('EBADF', syscall, undefined, `fd ${fd} is not an open dma-buf`);
    return b;
  }

  has(fd: number): boolean {
    return this.fds.has(fd);
  }

  close(fd: number): void {
    if (!this.fds.delete(fd)) throw kernelError('EBADF', 'close', undefined, `fd ${fd}`);
  }

  get openCount(): number {
    return this.fds.size;
  }
}
