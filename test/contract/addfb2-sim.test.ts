import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { addfb2Contract } from './addfb2.contract';

for (const profile of ['vkms', 'vkms-6-12', 'gvt-skylake']) {
  addfb2Contract(`simulator ${profile}`, () => {
    const host = new SimHost(loadProfile(profile));
    return { open: () => host.openKms(host.profile.kms.devPath), close: () => host.stop() };
  });
}
