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
    // libvirt's patch adding <graphics type='dbus'/> bumps tests/domaincapsdata/qemu_7.0.0-*.xml: the first QEMU with it.
    checked: "libvirt's graphics-dbus patch (libvir-list, Marc-André Lureau) enables it from qemu_7.0.0 caps; ui/dbus-display1.xml in qemu/qemu",
  },
  {
    id: 'libvirt-dbus-graphics',
    what: "libvirt's <graphics type='dbus'/> (a private bus per VM)",
    needs: { libvirt: '8.4.0' },
    use: 'source qemu-dbus under libvirt: the bus address in the live XML from the start hook on',
    checked: "libvirt docs/formatdomain.rst 'dbus' graphics (since 8.4.0); design §1",
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
    checked: 'libvirt.org/hooks.html: "Since 6.5.0, you can also place several hook scripts in the directories /etc/libvirt/hooks/<driver>.d/"',
  },
  {
    id: 'release-shutoff-reason',
    what: "the release hook's 4th argument is the shutoff reason (destroyed, failed, …)",
    needs: { libvirt: '10.5.0' },
    use: 'logged at release; before 10.5 the argument is "-"',
    checked: 'the libvirt lane on libvirt 11.3 checks it (scripts/lanes/libvirt.sh release_reason); issue 14 item 4',
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
