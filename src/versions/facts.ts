/**
 * Which feature needs which QEMU, libvirt and kernel: the one table `probe`, `doctor` and `plan`
 * read. Each entry says where the fact was checked; where a fact could not be confirmed against
 * a source here, `checked` says so and gives what it rests on.
 */

export type Component = 'qemu' | 'libvirt' | 'kernel';

export type FeatureId =
  | 'qemu-dbus-display'
  | 'libvirt-dbus-graphics'
  | 'listener-unix-map'
  | 'listener-scanout-dmabuf2'
  | 'listener-multiple'
  | 'hook-dropins'
  | 'release-shutoff-reason'
  | 'udmabuf';

export interface Fact {
  id: FeatureId;
  /** What it is, for a person. */
  what: string;
  /** The lowest version of each component it needs ("7.0.0"); a component absent here does not matter. */
  needs: Partial<Record<Component, string>>;
  /** A kernel build option it needs besides the version, e.g. CONFIG_UDMABUF. */
  kernelConfig?: string;
  /** What directflip does with it. */
  use: string;
  /** Where the fact was checked, or what it rests on where it could not be. */
  checked: string;
}

export const FACTS: readonly Fact[] = [
  {
    id: 'qemu-dbus-display',
    what: "QEMU's D-Bus display (-display dbus, org.qemu.Display1)",
    needs: { qemu: '7.0.0' },
    use: 'source qemu-dbus: a running guest\'s planes through its QEMU',
    // qemu-options.hx: "``dbus`` Export the display over D-Bus interfaces. (Since 7.0)"; libvirt's
    // graphics-dbus patch bumps tests/domaincapsdata/qemu_7.0.0-*.xml, the first QEMU caps with it.
    checked: 'qemu/qemu qemu-options.hx: -display dbus "(Since 7.0)"; libvir-list graphics-dbus series (msg224704) enables it from qemu_7.0.0 caps',
  },
  {
    id: 'libvirt-dbus-graphics',
    what: "libvirt's <graphics type='dbus'/> (a private bus per VM)",
    needs: { libvirt: '8.4.0' },
    use: 'source qemu-dbus under libvirt: the bus address in the live XML from the start hook on',
    // The series' later posting (libvir-list msg229398, spring 2022) is what 8.4.0 (June 2022) shipped.
    checked: "libvir-list graphics-dbus series (msg229398), released in libvirt 8.4.0; design §1 (not re-read in formatdomain.rst here)",
  },
  {
    id: 'listener-unix-map',
    what: 'org.qemu.Display1.Listener.Unix.Map (ScanoutMap/UpdateMap: the console in a shared memfd)',
    needs: { qemu: '9.2.0' },
    use: 'plain (non-GL) consoles without copying each frame into a message; with udmabuf, no copy at all',
    // ui/dbus-listener.c: dbus_display_listener_setup_shared_map() asks the listener's Interfaces
    // property for "org.qemu.Display1.Listener.Unix.Map" ([PATCH v2 16/19] ui/dbus: implement Unix.Map, Oct 2024; merged for 9.2).
    checked: 'qemu-devel [PATCH v2 16/19] "ui/dbus: implement Unix.Map" (Oct 2024, in QEMU 9.2): chosen from the listener\'s Interfaces property',
  },
  {
    id: 'listener-scanout-dmabuf2',
    what: 'org.qemu.Display1.Listener.Unix.ScanoutDMABUF2 (multi-plane dma-bufs with offsets, modifiers, backing size)',
    needs: { qemu: '10.1.0' },
    use: 'multi-plane guest buffers (NV12, CCS modifiers) to ADDFB2 with every plane',
    checked: 'not confirmed against a QEMU source here (no 10.1 tree in the index); rests on issue 14 and design §1',
  },
  {
    id: 'listener-multiple',
    what: 'more than one listener per QEMU D-Bus connection',
    needs: { qemu: '9.2.0' },
    use: 'several consoles of one guest through one connection to its bus',
    // ui/dbus-display1.xml of 7.x already says "Multiple listeners may be registered simultaneously" per console.
    checked: 'not confirmed against a QEMU source here: per console, several listeners work since 7.0 (ui/dbus-display1.xml); per connection rests on issue 14',
  },
  {
    id: 'hook-dropins',
    what: "libvirt hook drop-ins in /etc/libvirt/hooks/qemu.d/",
    needs: { libvirt: '6.5.0' },
    use: 'the hook installs as qemu.d/50-directflip beside other hooks',
    checked: 'libvirt/libvirt docs/hooks.rst: ":since:`Since 6.5.0`, you can also place several hook scripts in the directory /etc/libvirt/hooks/qemu.d/"',
  },
  {
    id: 'release-shutoff-reason',
    what: "the release hook's 4th argument is the shutoff reason (destroyed, failed, …)",
    needs: { libvirt: '10.5.0' },
    use: 'logged at release; before 10.5 the argument is "-"',
    checked: 'libvirt/libvirt docs/hooks.rst: "The shutoff-reason argument (:since:`since 10.5.0`; before that \'-\' was passed instead)"; the libvirt lane on 11.3 checks it',
  },
  {
    id: 'udmabuf',
    what: '/dev/udmabuf (a sealed memfd turned into a dma-buf)',
    needs: { kernel: '4.20.0' },
    kernelConfig: 'CONFIG_UDMABUF',
    use: 'Listener.Unix.Map pixels scanned out with no copy; without it only the damage is copied',
    checked: 'drivers/dma-buf/udmabuf.c, added in Linux 4.20 (UDMABUF_CREATE needs F_SEAL_SHRINK and a page-aligned size)',
  },
];

export function fact(id: FeatureId): Fact {
  const f = FACTS.find((x) => x.id === id);
  if (!f) throw new Error(`no version fact ${id}`);
  return f;
}

/** "7.2.13" → [7, 2, 13]; the leading numeric part of a kernel release ("6.1.0-18-amd64") too. */
export function parseVersion(v: string): number[] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

export function atLeast(have: string, need: string): boolean {
  const a = parseVersion(have);
  const b = parseVersion(need);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** How a version is printed in messages: "9.2" for "9.2.0". */
export function short(v: string): string {
  return v.replace(/\.0$/, '');
}
