import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { fixture } from '../contract/kms.contract';
import type { KmsDevice } from '../../src/kernel/types';

export function simHost(profile: string): SimHost {
  return new SimHost(loadProfile(profile));
}

/** A master file with the atomic cap on a fresh simulated host, and the contract's fixture. */
export function simKms(profile: string): { host: SimHost; dev: KmsDevice; f: ReturnType<typeof fixture> } {
  const host = simHost(profile);
  const dev = host.openKms(host.profile.kms.devPath);
  return { host, dev, f: fixture(dev) };
}
