import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { kmsContract } from './kms.contract';

for (const profile of ['vkms', 'gvt-skylake']) {
  kmsContract(`simulator ${profile}`, () => {
    const host = new SimHost(loadProfile(profile));
    return {
      open: () => host.openKms(host.profile.kms.devPath),
      vblank: async () => host.card.advanceVblank(),
      close: () => host.stop(),
    };
  });
}
