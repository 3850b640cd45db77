import { closeSync, fstatSync, openSync } from 'node:fs';
import { kernelError } from '../errors';
import { F_SEAL_SHRINK, F_SEAL_WRITE, memfdSeals } from '../native-socket';
import type { UdmabufDevice } from '../types';
import type { SimDmabufTable } from './buffers';

const PAGE = 4096;
/** udmabuf's size_limit_mb module parameter, 64 by default: the pages one dma-buf may pin. */
const SIZE_LIMIT = 64 * 1024 * 1024;
const I = 'UDMABUF_CREATE';
const PATH = '/dev/udmabuf';

/**
 * /dev/udmabuf of a simulated host, refusing as drivers/dma-buf/udmabuf.c does (udmabuf_create,
 * 6.1 and 6.12), in its order: offset or size not page-aligned, no pages, or more than
 * size_limit_mb: EINVAL; an fd that is not open or not shmem: EBADFD; seals without F_SEAL_SHRINK
 * or with F_SEAL_WRITE: EINVAL (the seals are the real memfd's, read with F_GET_SEALS); a range
 * past the end of the file: EINVAL.
 *
 * The dma-buf is a new fd of the same memfd (opened again through /proc), so it lives and closes
 * on its own; its pages are mapped now, as the kernel pins them, so what the producer writes is
 * what the simulated display scans out.
 */
export class SimUdmabuf implements UdmabufDevice {
  private closed = false;

  constructor(
    readonly fd: number,
    private readonly dmabufs: SimDmabufTable,
  ) {}

  create(memfd: number, offset: number, size: number): number {
    if (this.closed) throw kernelError('EBADF', I, PATH, `the /dev/udmabuf fd ${this.fd} is closed`);
    if (offset % PAGE) throw kernelError('EINVAL', I, PATH, `offset ${offset} is not page-aligned`);
    if (size % PAGE) throw kernelError('EINVAL', I, PATH, `size ${size} is not a multiple of the page size`);
    if (size > SIZE_LIMIT) throw kernelError('EINVAL', I, PATH, `${size} bytes exceed size_limit_mb (64 MiB)`);
    if (size === 0) throw kernelError('EINVAL', I, PATH, 'no pages');
    let seals: number;
    try {
      // F_GET_SEALS answers for any shmem file (a memfd, a tmpfs file) and EINVAL for the rest.
      seals = memfdSeals(memfd);
    } catch (e) {
      throw kernelError('EBADFD', I, PATH, `fd ${memfd} is ${(e as { code?: string }).code === 'EBADF' ? 'not open' : 'not a shmem file'}`);
    }
    if (!(seals & F_SEAL_SHRINK)) throw kernelError('EINVAL', I, PATH, `fd ${memfd} is not sealed with F_SEAL_SHRINK (seals 0x${seals.toString(16)})`);
    if (seals & F_SEAL_WRITE) throw kernelError('EINVAL', I, PATH, `fd ${memfd} is sealed with F_SEAL_WRITE`);
    const fileSize = fstatSync(memfd).size;
    if (offset + size > fileSize) throw kernelError('EINVAL', I, PATH, `bytes ${offset}..${offset + size} lie past the end of the ${fileSize}-byte memfd`);
    const dmabuf = openSync(`/proc/self/fd/${memfd}`, 'r');
    try {
      this.dmabufs.addUdmabuf(dmabuf, memfd, offset, size);
    } catch (e) {
      closeSync(dmabuf);
      throw e;
    }
    return dmabuf;
  }

  close(): void {
    if (this.closed) throw kernelError('EBADF', 'close', PATH);
    this.closed = true;
  }
}
