/**
 * Kernel uevents as they come off NETLINK_KOBJECT_UEVENT: `ACTION@DEVPATH\0KEY=VALUE\0…`.
 * Datagrams from udev's own monitor group start with "libudev" and never reach the kernel group
 * we bind; anything that does not parse is dropped, never thrown: a uevent is a hint to re-read
 * the card, not a command.
 */
export interface ParsedUevent {
  action: string;
  devpath: string;
  subsystem: string;
  env: Record<string, string>;
}

/** Bounds far above any real uevent (the kernel's UEVENT_BUFFER_SIZE is 2048 bytes, 64 keys). */
const MAX_BYTES = 8192;
const MAX_KEYS = 128;

export function parseUevent(b: Buffer): ParsedUevent | null {
  if (b.length === 0 || b.length > MAX_BYTES) return null;
  const parts = b.toString('latin1').split('\0').filter((s) => s.length > 0);
  const head = parts.shift();
  const at = head?.indexOf('@') ?? -1;
  if (!head || at <= 0) return null;
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const p of parts.slice(0, MAX_KEYS)) {
    const eq = p.indexOf('=');
    if (eq > 0) env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const action = env.ACTION ?? head.slice(0, at);
  const devpath = env.DEVPATH ?? head.slice(at + 1);
  return { action, devpath, subsystem: env.SUBSYSTEM ?? '', env };
}

/**
 * A DRM hotplug for card `minor` (drm_sysfs_hotplug_event / drm_sysfs_connector_hotplug_event /
 * drm_sysfs_connector_property_event: KOBJ_CHANGE, HOTPLUG=1, optionally CONNECTOR and PROPERTY).
 */
export function isDrmHotplug(u: ParsedUevent, minor?: number): boolean {
  if (u.subsystem !== 'drm' || u.action !== 'change' || u.env.HOTPLUG !== '1') return false;
  return minor === undefined || u.env.MINOR === String(minor);
}
