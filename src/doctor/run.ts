import { readFileBounded } from '../config/read-bounded';
import { openHost } from '../kernel/host';
import type { Host } from '../kernel/host';
import { isKernelError } from '../kernel/errors';
import { probeHost } from '../probe/probe';
import type { ProbeReport } from '../probe/probe';
import { SysPaths } from '../sys/paths';
import { readHostVersions } from '../versions/read';
import { daemonChecks } from './daemon';
import { domainChecks } from './domain';
import { drmChecks } from './drm';
import { hookChecks } from './hook';
import { gvtFbMdevs, mdevChecks } from './mdevs';
import { nodeChecks } from './node';
import type { CheckResult, DoctorContext } from './types';
import { udmabufChecks, versionChecks } from './versions';

export interface DoctorOptions {
  host: string;
  /** The one root every path hangs off; a simulated host without one lives in a temporary directory. */
  root?: string;
  files: string[];
  bus?: string;
  timeoutMs: number;
}

/** What `doctor --json` prints. */
export interface DoctorReport {
  /** True when no check is ✘. */
  ok: boolean;
  host: string;
  /** The root read; null for a simulated host on a temporary root, gone when doctor exits. */
  root: string | null;
  checks: CheckResult[];
  counts: { ok: number; fail: number; warn: number };
}

/** Doctor could not run at all (exit 2): an unreadable file, a host that is not one. */
export class DoctorCannotRun extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'DoctorCannotRun';
  }
}

function readDomains(files: string[]): { file: string; xml: Buffer }[] {
  return files.map((file) => {
    try {
      // Read as validate reads it: bounded (the parser then says "too large"), and a FIFO nobody writes to does not hang.
      return { file, xml: readFileBounded(file) };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'EIO';
      throw new DoctorCannotRun(`cannot read the domain XML ${file} (${code}): give a file \`virsh dumpxml DOMAIN > FILE\` wrote`, 'EDF_DOCTOR_INPUT');
    }
  });
}

interface Opened {
  host: Host | null;
  error: (Error & { code?: string }) | null;
  /** Said first when the kernel read is not the root's own. */
  note: CheckResult | null;
}

/** The native host may lack a DRM device: that is a finding (✘), not a reason to stop. */
function open(o: DoctorOptions): Opened {
  try {
    return { host: openHost(o.host, { root: o.root }), error: null, note: null };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (o.host === 'native' && err.code === 'ENODEV') return { host: null, error: err, note: null };
    // A simulated kernel lives in its daemon's process while that runs (a real one would be read
    // live): the kernel checks then read a fresh boot of the same profile, and say so.
    if (o.host.startsWith('sim:') && o.root && err.code === 'EBUSY') {
      return { host: openHost(o.host), error: null, note: { id: 'sim.kernel', scope: 'host', mark: 'warn', text: `${err.message.replace(/: stop it first.*$/, '')}: the DRM and mdev lines below read a fresh boot of ${o.host}, not that process's kernel` } };
    }
    throw new DoctorCannotRun(err.message, err.code ?? 'EDF_HOST');
  }
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const domains = readDomains(o.files);
  const { host, error, note } = open(o);
  try {
    const sys = note || !host ? new SysPaths(o.root ?? '/') : host.sys;
    // The system bus hangs off the root like every other path: a test root has its own.
    const bus = o.bus ?? (sys.root === '/' ? undefined : `unix:path=${sys.at('run/dbus/system_bus_socket')}`);
    const ctx: DoctorContext = { host, hostError: error, sys, versions: readHostVersions(sys), bus, timeoutMs: o.timeoutMs };
    let probe: ProbeReport | null = null;
    if (host) {
      try {
        probe = probeHost(host);
      } catch (e) {
        if (!isKernelError(e)) throw e;
      }
    }
    const gvtFb = gvtFbMdevs(ctx, probe?.mdevs ?? []);
    const autoCreates = host?.kind === 'sim' && host.sim!.profile.vfio.autoCreateMdevs !== false && host.sim!.profile.vfio.types.length > 0;
    const checks: CheckResult[] = [
      ...(note ? [note] : []),
      ...nodeChecks(ctx),
      ...hookChecks(ctx),
      ...(await daemonChecks(ctx)),
      ...drmChecks(ctx),
      ...mdevChecks(ctx, probe?.mdevs ?? []),
      ...versionChecks(ctx),
      ...udmabufChecks(ctx),
      ...domains.flatMap((d) => domainChecks(d.file, d.xml, sys.root, probe, gvtFb, autoCreates)),
    ];
    const count = (m: CheckResult['mark']) => checks.filter((c) => c.mark === m).length;
    const counts = { ok: count('ok'), fail: count('fail'), warn: count('warn') };
    return { ok: counts.fail === 0, host: host?.label ?? o.host, root: o.root ?? (host?.kind === 'sim' ? null : sys.root), checks, counts };
  } finally {
    host?.close();
  }
}
