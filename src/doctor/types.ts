import type { Host } from '../kernel/host';
import type { SysPaths } from '../sys/paths';
import type { HostVersions } from '../versions/read';

/** ✔ ready, ✘ broken (with the exact fix), ! worth knowing but not in the way. */
export type Mark = 'ok' | 'fail' | 'warn';

export const SYMBOL: Record<Mark, string> = { ok: '✔', fail: '✘', warn: '!' };

/** One line of `doctor`. */
export interface CheckResult {
  /** Stable name for programs, e.g. `hook.noticed`, `domain.connector`. */
  id: string;
  scope: 'host' | 'domain';
  /** The domain's name, for per-domain checks. */
  domain?: string;
  mark: Mark;
  /** What was found, in one sentence. */
  text: string;
  /** For ✘ (and some !): the exact thing to do, commands in backticks, as they run on this host. */
  fix?: string;
}

/** What every check reads: one host, one root, and this host's versions. */
export interface DoctorContext {
  /** null when the host's DRM device could not be opened (the DRM check says why). */
  host: Host | null;
  /** Why the host could not be opened, when it could not. */
  hostError: (Error & { code?: string }) | null;
  sys: SysPaths;
  versions: HostVersions;
  /** The daemon's bus: --bus, else DIRECTFLIP_BUS_ADDRESS, else the system bus. */
  bus: string | undefined;
  timeoutMs: number;
}

export const ok = (id: string, text: string): CheckResult => ({ id, scope: 'host', mark: 'ok', text });
export const warn = (id: string, text: string, fix?: string): CheckResult => ({ id, scope: 'host', mark: 'warn', text, ...(fix ? { fix } : {}) });
export const fail = (id: string, text: string, fix: string): CheckResult => ({ id, scope: 'host', mark: 'fail', text, fix });

/** How a command that takes the root is spelled for this root (`directflip install --prefix DIR` on a test root). */
export function onRoot(sys: SysPaths, cmd: 'install'): string {
  return sys.root === '/' ? `directflip ${cmd}` : `directflip ${cmd} --prefix ${sys.root}`;
}
