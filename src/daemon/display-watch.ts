import { isDrmHotplug } from '../kernel/uevents';
import type { KernelBackend, Uevent } from '../kernel/types';
import type { Logger } from './log';

/** DRM primary nodes: /dev/dri/cardN is minor N. */
export function cardMinor(cardPath: string): number | undefined {
  const m = /card(\d+)$/.exec(cardPath);
  return m ? Number(m[1]) : undefined;
}

/**
 * Calls `changed` once for every burst of HOTPLUG uevents of the card at `cardPath` (a replug
 * sends one per connector, and an overrun of the socket may have lost some: then too). A
 * uevent is only a hint to re-read the connectors: its contents are never trusted beyond
 * that. Returns the function that stops listening; a backend that cannot listen returns a no-op
 * and says so once.
 */
export function watchDisplay(backend: KernelBackend, cardPath: string, changed: () => void, log: Logger): () => void {
  if (!backend.watchUevents) {
    log('notice', null, `this host's kernel backend cannot listen for uevents: hotplug and link-status changes of ${cardPath} go unnoticed`);
    return () => undefined;
  }
  const minor = cardMinor(cardPath);
  let queued = false;
  let stopped = false;
  const fire = () => {
    queued = false;
    if (stopped) return;
    try {
      changed();
    } catch (e) {
      log('err', null, `reacting to a hotplug of ${cardPath} failed: ${(e as Error)?.message ?? String(e)}`);
    }
  };
  const onEvent = (u: Uevent) => {
    if (!u || typeof u !== 'object' || !u.env) return;
    if (u.env.DIRECTFLIP_OVERRUN !== '1' && !isDrmHotplug(u, minor)) return;
    if (queued) return;
    queued = true;
    setImmediate(fire);
  };
  let stop: () => void;
  try {
    stop = backend.watchUevents(onEvent, (e) => log('warning', null, `the uevent socket failed (${e.message}); hotplug of ${cardPath} may go unnoticed`));
  } catch (e) {
    log('warning', null, `cannot listen for uevents (${(e as Error).message}): hotplug and link-status changes of ${cardPath} go unnoticed`);
    return () => undefined;
  }
  return () => {
    stopped = true;
    stop();
  };
}
