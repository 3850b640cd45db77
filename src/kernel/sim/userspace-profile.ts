import type { Check } from './profile-check';
import { arr, bool, either, int, obj, oneOf, str } from './profile-check';

/**
 * The userspace half of a simulated host (profile key `userspace`, every field optional): what a
 * real machine shows under /proc, /usr and /lib besides its kernel objects. `directflip doctor` and
 * `probe` read these from the sim tree exactly as they read a real root; nothing here is an
 * answer, only the machine's state at boot.
 */
export interface UserspaceProfile {
  /** `uname -r`: /proc/sys/kernel/osrelease. */
  kernelRelease?: string;
  /** /proc/cmdline, e.g. with `i915.enable_gvt=1`. */
  cmdline?: string;
  /** What `qemu-system-x86_64 --version` says (e.g. `7.2.0`); null: QEMU is not installed. */
  qemu?: string | null;
  /** libvirt's version (`libvirtd --version`); null: libvirt is not installed. */
  libvirt?: string | null;
  /**
   * Which libvirt daemon serves QEMU guests: `virtqemud` (modular, socket-activated: started on
   * the first connection, so not running at boot) or `libvirtd` (monolithic, running since boot).
   */
  libvirtDaemon?: 'virtqemud' | 'libvirtd';
  /** Loaded kernel modules (/proc/modules), e.g. `udmabuf`. */
  modules?: string[];
  /** Modules the kernel has as files but has not loaded (CONFIG_…=m), e.g. `udmabuf`. */
  moduleFiles?: string[];
  /** Other processes running since boot: their /proc/<pid>/comm and the DRM cards they hold open. */
  processes?: { pid: number; comm: string; cards?: string[]; drmMaster?: boolean }[];
  /** AppArmor enabled (/sys/module/apparmor/parameters/enabled). */
  apparmor?: boolean;
}

const RELEASE = str(64, /^[0-9]+\.[0-9]+[A-Za-z0-9.+_-]*$/, 'a kernel release such as "6.1.0-18-amd64"');
const VERSION = str(32, /^[0-9]+\.[0-9]+(\.[0-9]+)?$/, 'a version such as "7.2.0"');
const MODULE = str(56, /^[a-z0-9_]+$/, 'a module name of lower-case letters, digits and _');
const CARD = str(64, /^\/dev\/dri\/card\d{1,3}$/, 'a card path such as /dev/dri/card0');

export const userspaceCheck: Check = obj({}, {
  kernelRelease: RELEASE,
  cmdline: str(4096, /^[\x20-\x7e]*$/, 'a kernel command line of printable characters'),
  qemu: either(oneOf([null]), VERSION, 'null or a version such as "7.2.0"'),
  libvirt: either(oneOf([null]), VERSION, 'null or a version such as "9.0.0"'),
  libvirtDaemon: oneOf(['virtqemud', 'libvirtd']),
  modules: arr(MODULE, 256),
  moduleFiles: arr(MODULE, 256),
  processes: arr(obj({ pid: int(2, 4194304), comm: str(15, /^[\x21-\x7e][\x20-\x7e]*$/, 'a comm of 1 to 15 printable characters') }, { cards: arr(CARD, 8), drmMaster: bool }), 64),
  apparmor: bool,
});

/** A Debian 12 host as installed, where a profile says nothing else. */
export const USERSPACE_DEFAULTS: Required<Omit<UserspaceProfile, 'cmdline'>> = {
  kernelRelease: '6.1.0-sim-amd64',
  qemu: '7.2.0',
  libvirt: '9.0.0',
  libvirtDaemon: 'virtqemud',
  modules: ['udmabuf'],
  moduleFiles: [],
  processes: [],
  apparmor: false,
};
