import { closeSync, writeSync } from 'node:fs';
import { F_SEAL_SHRINK } from '../../src/kernel/native-socket';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { sealedMemfd, udmabufContract } from '../contract/udmabuf.contract';
import { errOf } from '../contract/kms.contract';
import { fdSnapshot, fdsOpenedSince } from '../helpers/fds';
import { simHost } from '../helpers/sim';

/** The simulated /dev/udmabuf against the contract the real one passes in the kernel lane. */
udmabufContract('simulated vkms host', () => {
  const host = simHost('vkms');
  return {
    open: () => host.openUdmabuf('/dev/udmabuf'),
    openKms: () => host.openKms(host.profile.kms.devPath),
    closeFd: (fd) => host.closeFd(fd),
    close: () => host.stop(),
  };
});

test('a host whose kernel has not loaded udmabuf has no /dev/udmabuf: ENOENT, as open() answers', () => {
  expect(errOf(() => simHost('gvt-skylake-no-udmabuf').openUdmabuf('/dev/udmabuf')).code).toBe('ENOENT');
  const p = loadProfile('vkms');
  const host = new SimHost({ ...p, userspace: { modules: [] } });
  expect(errOf(() => host.openUdmabuf('/dev/udmabuf')).code).toBe('ENOENT');
  simHost('gvt-skylake').openUdmabuf('/dev/udmabuf').close(); // the profile loads it
  expect(errOf(() => simHost('vkms').openUdmabuf('/dev/udmabufx')).code).toBe('ENOENT');
});

test('the dma-buf is the memfd range itself: what the producer writes later is what the import holds; its fd closes on its own', () => {
  const host = simHost('vkms');
  const before = fdSnapshot();
  const memfd = sealedMemfd(3 * 4096, F_SEAL_SHRINK);
  const dev = host.openUdmabuf('/dev/udmabuf');
  const buf = dev.create(memfd, 4096, 8192);
  const kms = host.openKms(host.profile.kms.devPath);
  const handle = kms.primeFdToHandle(buf);
  writeSync(memfd, Buffer.from('after'), 0, 5, 4096 + 10);
  const pixels = host.dmabufs.lookup(buf, 'test').pixels;
  expect([pixels.length, pixels.subarray(10, 15).toString()]).toEqual([8192, 'after']);
  kms.gemClose(handle);
  kms.close();
  host.closeFd(buf);
  closeSync(memfd);
  dev.close();
  expect(fdsOpenedSince(before)).toEqual([]);
  // A number reused for another file is not taken for the closed dma-buf.
  expect(errOf(() => host.dmabufs.lookup(buf, 'DRM_IOCTL_PRIME_FD_TO_HANDLE')).code).toBe('EBADF');
});
