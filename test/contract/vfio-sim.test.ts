import { fourcc } from '../../src/kernel/constants';
import { simHost } from '../helpers/sim';
import { vfioContract } from './vfio.contract';

vfioContract('simulator mbochs (vkms profile)', () => {
  const host = simHost('vkms');
  const uuid = host.profile.vfio.mdevs[0].uuid;
  const m = host.vfio.mdev(uuid);
  // The contract starts from a guest that has not programmed a mode yet.
  host.vfio.setGuestPlane(uuid, 'primary', null);
  return {
    uuid,
    openContainer: () => host.openVfioContainer('/dev/vfio/vfio'),
    openGroup: () => host.openVfioGroup(`/dev/vfio/${m.iommuGroup}`),
    enableGuestPlane: () =>
      host.vfio.setGuestPlane(uuid, 'primary', { width: 640, height: 480, stride: 2560, format: fourcc('XR24'), modifier: 0n, pixels: Buffer.alloc(2560 * 480, 0x40) }),
    guestFlip: () => host.vfio.guestFlip(uuid, 'primary'),
    closeFd: (fd) => host.closeFd(fd),
    close: () => host.stop(),
  };
});
