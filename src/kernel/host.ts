import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SysPaths } from '../sys/paths';
import { realSysfs, SimSysfs } from '../sys/sysfs';
import type { SysfsIO } from '../sys/sysfs';
import type { KernelBackend } from './types';
import type { SimHost } from './sim/host';

/** What `--host` names: the machine itself, or a simulated host on a temporary root. */
export interface Host {
  kind: 'native' | 'sim';
  /** `native`, or `sim:PROFILE`. */
  label: string;
  backend: KernelBackend;
  sys: SysPaths;
  sim?: SimHost;
  /** Sysfs attribute reads and writes (live attributes on a simulated host). */
  sysfs: SysfsIO;
  /** DRM card device paths (as the backend opens them). */
  cards(): string[];
  /** The mdev a domain names, created first where the host does that (mdevctl on the sim). */
  ensureMdev(uuid: string): boolean;
  close(): void;
}

/** The file in a simulated host's sys/ and dev/ that says it made them. */
const SIM_MARKER = '.directflip-sim';

export const HOST_HELP = 'native (this machine) or sim:PROFILE (a simulated host: a profile name from examples/hosts, or a JSON file)';

export function openHost(spec: string, opts: { vblank?: 'manual' | 'timer'; root?: string } = {}): Host {
  if (spec === 'native') return nativeHost(opts.root ?? '/');
  if (spec.startsWith('sim:') && spec.length > 4) return simHost(spec.slice(4), opts);
  throw Object.assign(new Error(`--host ${JSON.stringify(spec)} is not a host: use ${HOST_HELP}`), { code: 'EDF_HOST' });
}

function nativeHost(root: string): Host {
  const sys = new SysPaths(root);
  const dri = sys.at('dev/dri');
  const cards = existsSync(dri) ? readdirSync(dri).filter((f) => /^card\d+$/.test(f)).sort().map((f) => `/dev/dri/${f}`) : [];
  if (!cards.length) {
    throw Object.assign(new Error('no DRM device under /dev/dri (this kernel has no DRM, or no GPU driver is loaded); to try directflip anyway use --host sim:gvt-skylake'), { code: 'ENODEV' });
  }
  // Loaded here, not at import: nothing above the kernel layer needs the addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { nativeBackend } = require('./native') as typeof import('./native');
  return {
    kind: 'native', label: 'native', backend: nativeBackend(), sys, sysfs: realSysfs, cards: () => cards,
    ensureMdev: (uuid) => existsSync(sys.mdevDevice(uuid)),
    close: () => undefined,
  };
}

function simHost(profileSpec: string, opts: { vblank?: 'manual' | 'timer'; root?: string }): Host {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadProfile } = require('./sim/load-profile') as typeof import('./sim/load-profile');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SimHost } = require('./sim/host') as typeof import('./sim/host');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildFakeTree, addMdev, gvtDebugfsAttr } = require('../sys/fake-tree') as typeof import('../sys/fake-tree');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bootProfile, bootUserspace, runningMasters } = require('../sys/fake-userspace') as typeof import('../sys/fake-userspace');
  const loaded = loadProfile(profileSpec);
  const ownRoot = !opts.root;
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'directflip-sim-'));
  const sys = new SysPaths(root);
  // A kernel a live process owns (a daemon on this --root) refuses before its tree is touched.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!ownRoot) new (require('./sim/kernel-store') as typeof import('./sim/kernel-store')).KernelStore(sys.at('sim-kernel')).load();
  // The machine's userspace (/proc, binaries) outlives this open; what the kernel shows follows its boot settings.
  const profile = bootProfile(loaded, sys);
  // A simulated host rebuilds its /sys and /dev from its kernel each time; it removes only trees
  // it made itself (they carry a marker), and never a directory someone else put there.
  for (const d of ['sys', 'dev']) {
    const dir = sys.at(d);
    if (!existsSync(dir)) continue;
    if (!existsSync(join(dir, SIM_MARKER))) {
      throw Object.assign(new Error(`${dir} exists and was not made by a simulated host; directflip removes only what it made: give --root a directory without sys/ and dev/`), { code: 'EDF_HOST' });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  // With --root the simulated kernel outlives this process, as a real one outlives the daemon;
  // /run is kept as well (the daemon's journal must survive its own restart).
  const sim = new SimHost(profile, { vblank: opts.vblank, stateDir: ownRoot ? undefined : sys.at('sim-kernel') });
  buildFakeTree(sys, sim);
  bootUserspace(sys, profile);
  for (const d of ['sys', 'dev']) writeFileSync(join(sys.at(d), SIM_MARKER), 'made by a directflip simulated host; removed with it\n');
  // A compositor of the profile still running (its /proc/<pid> there) is DRM master, as it was since boot.
  if (runningMasters(sys, profile).length) sim.card.takeMaster();
  const sysfs = new SimSysfs();
  // Intel's direct-flip kernel: writing a plane type selects it, reading gives its kernel fb id.
  const liveAttributes = (uuid: string) => {
    if (!profile.vfio.directFlip) return;
    let plane: 'primary' | 'cursor' = 'primary';
    const attr = {
      write: (v: string) => {
        const n = v.trim();
        if (n !== '1' && n !== '2') throw Object.assign(new Error(`EINVAL: plane_id_index takes 1 (primary) or 2 (cursor), not ${n}: write one of those`), { code: 'EINVAL' });
        plane = n === '1' ? 'primary' : 'cursor';
      },
      read: () => `${sim.vfio.directFlipFb(uuid, plane)}\n`,
    };
    sysfs.add(sys.at('sys/devices', profile.vfio.parentSysfs, uuid, 'intel_vgpu', 'plane_id_index'), attr);
    // The same attribute where the proposal's thread keeps it for debugging.
    sysfs.add(gvtDebugfsAttr(sys, sim, uuid), attr);
  };
  for (const uuid of sim.vfio.mdevs.keys()) liveAttributes(uuid);
  return {
    kind: 'sim', label: `sim:${profile.name}`, backend: sim, sys, sim, sysfs, cards: () => [profile.kms.devPath],
    ensureMdev: (uuid) => {
      if (sim.vfio.mdevs.has(uuid)) return true;
      if (!sim.vfio.ensureMdev(uuid)) return false;
      addMdev(sys, sim, uuid);
      liveAttributes(uuid);
      return true;
    },
    close: () => {
      sim.stop();
      if (ownRoot) rmSync(root, { recursive: true, force: true });
    },
  };
}
