/**
 * /dev/udmabuf's contract (drivers/dma-buf/udmabuf.c, linux 6.1 and 6.12): what UDMABUF_CREATE
 * takes and what it refuses, with the kernel's errno. The same assertions run against the real
 * kernel in the kernel lane and against the simulator, so the simulator refuses what linux does.
 *
 * Refusals, in the order the kernel checks them: offset or size not page-aligned, a zero size or
 * more than size_limit_mb (64 MiB) in all: EINVAL; an fd that is not open or not shmem: EBADFD;
 * seals without F_SEAL_SHRINK, or with F_SEAL_WRITE: EINVAL; a range past the memfd's end: EINVAL.
 */
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import type { KmsDevice, UdmabufDevice } from '../../src/kernel/types';
import { F_SEAL_SHRINK, F_SEAL_WRITE, MFD_ALLOW_SEALING, memfdAddSeals, memfdCreate, socketPair } from '../../src/kernel/native-socket';

export interface UdmabufContractRig {
  /** Opens /dev/udmabuf. */
  open(): UdmabufDevice;
  /** A KMS card that imports dma-bufs (PRIME_FD_TO_HANDLE). */
  openKms(): KmsDevice;
  closeFd(fd: number): void;
  close(): void | Promise<void>;
}

const PAGE = 4096;

function errOf(f: () => unknown): { code?: string } {
  try {
    f();
  } catch (e) {
    return e as { code?: string };
  }
  throw new Error('expected the call to fail');
}

/** A memfd of `size` bytes (MFD_ALLOW_SEALING) carrying `seals`, its first bytes written. */
export function sealedMemfd(size: number, seals: number, name = 'directflip-udmabuf-contract'): number {
  const fd = memfdCreate(name, MFD_ALLOW_SEALING);
  ftruncateSync(fd, size);
  writeSync(fd, Buffer.from('directflip'), 0, 10, 0);
  if (seals) memfdAddSeals(fd, seals);
  return fd;
}

export function udmabufContract(name: string, setup: () => UdmabufContractRig): void {
  describe(`udmabuf contract: ${name}`, () => {
    let rig: UdmabufContractRig;
    let dev: UdmabufDevice;
    const fds: number[] = [];
    const memfd = (size: number, seals: number) => {
      const fd = sealedMemfd(size, seals);
      fds.push(fd);
      return fd;
    };

    beforeEach(() => {
      rig = setup();
      dev = rig.open();
    });
    afterEach(async () => {
      dev.close();
      for (const fd of fds.splice(0)) closeSync(fd);
      await rig.close();
    });

    test('a memfd sealed against shrinking, page-aligned, becomes a dma-buf a KMS card imports', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK);
      const buf = dev.create(fd, 0, 4 * PAGE);
      expect(buf).toBeGreaterThanOrEqual(0);
      const kms = rig.openKms();
      try {
        const handle = kms.primeFdToHandle(buf);
        expect(handle).toBeGreaterThan(0);
        // The same dma-buf imports to the same GEM handle.
        expect(kms.primeFdToHandle(buf)).toBe(handle);
        kms.gemClose(handle);
      } finally {
        kms.close();
        rig.closeFd(buf);
      }
    });

    test('a range inside the memfd (page-aligned offset and size) is accepted', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK);
      rig.closeFd(dev.create(fd, PAGE, 2 * PAGE));
    });

    test('without F_SEAL_SHRINK: EINVAL', () => {
      const fd = memfd(4 * PAGE, 0);
      expect(errOf(() => dev.create(fd, 0, 4 * PAGE)).code).toBe('EINVAL');
    });

    test('sealed against writing as well (F_SEAL_WRITE): EINVAL', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_WRITE);
      expect(errOf(() => dev.create(fd, 0, 4 * PAGE)).code).toBe('EINVAL');
    });

    test('a size that is not a multiple of the page size: EINVAL', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK);
      expect(errOf(() => dev.create(fd, 0, 3 * PAGE + 1)).code).toBe('EINVAL');
    });

    test('an offset that is not page-aligned: EINVAL', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK);
      expect(errOf(() => dev.create(fd, 64, PAGE)).code).toBe('EINVAL');
    });

    test('a zero size: EINVAL', () => {
      const fd = memfd(4 * PAGE, F_SEAL_SHRINK);
      expect(errOf(() => dev.create(fd, 0, 0)).code).toBe('EINVAL');
    });

    test('more than size_limit_mb (64 MiB) is EINVAL before the memfd is looked at', () => {
      const fd = memfd(PAGE, 0);
      expect(errOf(() => dev.create(fd, 0, 64 * 1024 * 1024 + PAGE)).code).toBe('EINVAL');
    });

    test('a range past the end of the memfd: EINVAL', () => {
      const fd = memfd(2 * PAGE, F_SEAL_SHRINK);
      expect(errOf(() => dev.create(fd, PAGE, 2 * PAGE)).code).toBe('EINVAL');
    });

    test('an fd that is not shmem (a unix socket): EBADFD', () => {
      const [r, w] = socketPair();
      try {
        expect(errOf(() => dev.create(r, 0, PAGE)).code).toBe('EBADFD');
      } finally {
        closeSync(r);
        closeSync(w);
      }
    });

    test('an fd that is not open: EBADFD', () => {
      const fd = sealedMemfd(PAGE, F_SEAL_SHRINK);
      closeSync(fd);
      expect(errOf(() => dev.create(fd, 0, PAGE)).code).toBe('EBADFD');
    });
  });
}
