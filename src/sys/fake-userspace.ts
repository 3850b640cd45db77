import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { HostProfile } from '../kernel/sim/profile';
import { USERSPACE_DEFAULTS } from '../kernel/sim/userspace-profile';
import type { UserspaceProfile } from '../kernel/sim/userspace-profile';
import type { SysPaths } from './paths';

/**
 * The userspace a simulated host shows under its root, read by `doctor` and `probe` as they read
 * a real one: /proc (boot time, command line, modules, processes with their comm, start time and
 * open cards), the QEMU and libvirt binaries (scripts that print their version, as the real ones
 * do), module files under /lib/modules, and /sys/module parameters.
 *
 * /proc, /usr and /lib are written once, at the root's first boot, and then belong to the
 * machine: a test stops a process by removing its /proc/<pid>, upgrades QEMU by replacing the
 * script, loads a module by adding it to /proc/modules. /sys and /dev are rebuilt at every open
 * (buildFakeTree), so what they show follows that state.
 */

/** The profile's userspace with the defaults filled in; GVT-g hosts boot with enable_gvt=1 unless told otherwise. */
export function userspaceOf(profile: HostProfile): Required<UserspaceProfile> {
  const gvt = profile.vfio.kind === 'gvt' ? ' i915.enable_gvt=1 kvm.ignore_msrs=1' : '';
  return { ...USERSPACE_DEFAULTS, cmdline: `BOOT_IMAGE=/boot/vmlinuz-sim root=/dev/sda1 ro quiet${gvt}`, ...profile.userspace };
}

const MARKER = '.directflip-sim';
/** USER_HZ, the unit of /proc/<pid>/stat's starttime. */
export const CLK_TCK = 100;

function file(p: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
}

/** Loaded modules, as /proc/modules lists them (the first word of each line). */
export function loadedModules(sys: SysPaths): string[] {
  try {
    return readFileSync(sys.at('proc/modules'), 'utf8').split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  } catch {
    return [];
  }
}

/** `options i915 enable_gvt=1` in /etc/modprobe.d, or `i915.enable_gvt=1` on the command line, as i915 reads them at load. */
export function gvtEnabledAtBoot(sys: SysPaths): boolean {
  let cmdline = '';
  try {
    cmdline = readFileSync(sys.at('proc/cmdline'), 'utf8');
  } catch {
    // no command line: nothing enabled there
  }
  if (/(^|\s)i915\.enable_gvt=(1|y|Y)(\s|$)/.test(cmdline)) return true;
  const dir = sys.at('etc/modprobe.d');
  if (!existsSync(dir)) return false;
  return readdirSync(dir).filter((f) => f.endsWith('.conf')).some((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    return text.split('\n').some((l) => /^\s*options\s+i915\s+(.*\s)?enable_gvt=(1|y|Y)(\s|$)/.test(l));
  });
}

/**
 * What the kernel shows at this boot: with GVT-g off, i915 registers no mdev parent, so there
 * are no vGPU types and no vGPUs (the profile describes the hardware, the boot decides).
 */
export function bootProfile(profile: HostProfile, sys: SysPaths): HostProfile {
  writeFirstBoot(sys, profile);
  // The modules loaded now (/proc/modules: `modprobe` since boot counts), which the kernel's devices follow.
  const booted = { ...profile, userspace: { ...profile.userspace, modules: loadedModules(sys) } };
  if (profile.vfio.kind !== 'gvt' || gvtEnabledAtBoot(sys)) return booted;
  return { ...booted, vfio: { ...profile.vfio, types: [], mdevs: [], autoCreateMdevs: false } };
}

/** The processes of the profile still running (their /proc/<pid> not removed) that hold DRM master. */
export function runningMasters(sys: SysPaths, profile: HostProfile): number[] {
  return userspaceOf(profile).processes.filter((p) => p.drmMaster && existsSync(sys.at('proc', String(p.pid)))).map((p) => p.pid);
}

/** Writes the parts rebuilt at every boot: module parameters and the device nodes of loaded modules. */
export function bootUserspace(sys: SysPaths, profile: HostProfile): void {
  const u = userspaceOf(profile);
  if (profile.kms.driver.name === 'i915') file(sys.at('sys/module/i915/parameters/enable_gvt'), gvtEnabledAtBoot(sys) ? 'Y\n' : 'N\n', 0o400);
  file(sys.at('sys/module/apparmor/parameters/enabled'), u.apparmor ? 'Y\n' : 'N\n');
  if (loadedModules(sys).includes('udmabuf')) file(sys.at('dev/udmabuf'), '');
  // A PCI mdev parent (GVT-g's iGPU) is bound to the card's driver, as its `driver` link says.
  const v = profile.vfio;
  if (/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(v.parent)) {
    const drivers = sys.at('sys/bus/pci/drivers', profile.kms.driver.name);
    mkdirSync(drivers, { recursive: true });
    const dev = sys.at('sys/devices', v.parentSysfs);
    mkdirSync(dev, { recursive: true });
    symlinkSync(relative(dev, drivers), join(dev, 'driver'));
  }
}

function writeFirstBoot(sys: SysPaths, profile: HostProfile): void {
  const proc = sys.at('proc');
  if (existsSync(join(proc, MARKER))) return;
  const u = userspaceOf(profile);
  const bootSec = Math.floor(Date.now() / 1000) - 60;
  file(join(proc, 'stat'), `cpu  0 0 0 0 0 0 0 0 0 0\nbtime ${bootSec}\n`);
  file(join(proc, 'cmdline'), `${u.cmdline}\n`);
  file(join(proc, 'sys/kernel/osrelease'), `${u.kernelRelease}\n`);
  file(join(proc, 'modules'), u.modules.map((m) => `${m} 16384 0 - Live 0x0000000000000000\n`).join(''));
  for (const p of u.processes) writeProcess(sys, p.pid, p.comm, 2, p.cards ?? []);
  // Monolithic libvirtd runs from boot; modular virtqemud is socket-activated and starts on demand.
  if (u.libvirt !== null && u.libvirtDaemon === 'libvirtd') writeProcess(sys, 812, 'libvirtd', 5, []);
  // The module index modprobe reads: modules.dep names each module file.
  for (const m of u.moduleFiles) file(sys.at('lib/modules', u.kernelRelease, 'kernel/sim', `${m}.ko`), '');
  file(sys.at('lib/modules', u.kernelRelease, 'modules.dep'), [...u.modules, ...u.moduleFiles].map((m) => `kernel/sim/${m}.ko:\n`).join(''));
  if (u.qemu !== null) versionScript(sys.at('usr/bin/qemu-system-x86_64'), `QEMU emulator version ${u.qemu} (sim)\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers`);
  if (u.libvirt !== null) {
    versionScript(sys.at('usr/sbin/libvirtd'), `libvirtd (libvirt) ${u.libvirt}`);
    versionScript(sys.at('usr/sbin/virtqemud'), `virtqemud (libvirt) ${u.libvirt}`);
  }
  file(join(proc, MARKER), 'made by a directflip simulated host\n');
}

/** A process as /proc shows it: comm, a stat whose 22nd field is its start in ticks after boot, its open cards. */
export function writeProcess(sys: SysPaths, pid: number, comm: string, startedSecAfterBoot: number, cards: string[]): void {
  const dir = sys.at('proc', String(pid));
  file(join(dir, 'comm'), `${comm}\n`);
  file(join(dir, 'cmdline'), `${comm}\0`);
  // Fields 3..21 are not read; starttime is field 22.
  const fields = ['S', ...Array.from({ length: 18 }, () => '0'), String(startedSecAfterBoot * CLK_TCK), '0'];
  file(join(dir, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
  mkdirSync(join(dir, 'fd'), { recursive: true });
  cards.forEach((card, i) => symlinkSync(card, join(dir, 'fd', String(10 + i))));
}

function versionScript(path: string, text: string): void {
  file(path, `#!/bin/sh\n# a simulated host's binary: it only tells its version\ncat <<'EOF'\n${text}\nEOF\n`, 0o755);
}
