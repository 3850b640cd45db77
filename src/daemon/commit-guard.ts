import { DRM_MODE_ATOMIC } from '../kernel/constants';
import type { AtomicProp, KmsDevice } from '../kernel/types';

/**
 * The card as a commit path sees it, with `before` run right before the first commit that changes
 * the screen (not a TEST_ONLY): by then the commit path has taken its snapshots and nothing is
 * shown yet, so that is when the journal must have them. If `before` throws, nothing is committed.
 */
export function guardCommits(dev: KmsDevice, before: () => void): KmsDevice {
  let done = false;
  const once = (flags: number) => {
    if (done || flags & DRM_MODE_ATOMIC.TEST_ONLY) return;
    before();
    done = true;
  };
  return new Proxy(dev, {
    get(target, key, receiver) {
      if (key === 'atomic') {
        return (props: AtomicProp[], flags: number, userData?: bigint) => {
          once(flags);
          target.atomic(props, flags, userData);
        };
      }
      if (key === 'atomicAsync') {
        return (props: AtomicProp[], flags: number, userData?: bigint) => {
          once(flags);
          return target.atomicAsync(props, flags, userData);
        };
      }
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
