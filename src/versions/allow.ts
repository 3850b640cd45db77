import { atLeast, FACTS, short } from './facts';
import type { Component, FeatureId } from './facts';
import type { HostVersions } from './read';

/** One feature on this host: whether its versions allow it, and why, in one sentence. */
export interface Allowed {
  id: FeatureId;
  what: string;
  /** null: a version it needs could not be read. */
  allowed: boolean | null;
  why: string;
  kernelConfig?: string;
}

const NAMES: Record<Component, string> = { qemu: 'QEMU', libvirt: 'libvirt', kernel: 'kernel' };

function have(v: HostVersions, c: Component): string | null {
  return v[c]?.version ?? null;
}

/** Every fact of facts.ts against this host's versions. */
export function allowedFeatures(v: HostVersions): Allowed[] {
  return FACTS.map((f) => {
    const parts = Object.entries(f.needs) as [Component, string][];
    const missing = parts.filter(([c]) => have(v, c) === null);
    const low = parts.filter(([c, need]) => have(v, c) !== null && !atLeast(have(v, c)!, need));
    const needs = parts.map(([c, need]) => `${NAMES[c]} ≥ ${short(need)}`).join(' and ');
    const found = parts.filter(([c]) => have(v, c) !== null).map(([c]) => `${NAMES[c]} ${have(v, c)}`).join(', ');
    const base = { id: f.id, what: f.what, ...(f.kernelConfig ? { kernelConfig: f.kernelConfig } : {}) };
    if (low.length) return { ...base, allowed: false, why: `needs ${needs}; this host has ${found}` };
    if (missing.length) return { ...base, allowed: null, why: `needs ${needs}; ${missing.map(([c]) => NAMES[c]).join(' and ')} not found on this host` };
    return { ...base, allowed: true, why: `${found}${f.kernelConfig ? ` (and the kernel built with ${f.kernelConfig})` : ''}` };
  });
}

export function isAllowed(v: HostVersions, id: FeatureId): boolean | null {
  return allowedFeatures(v).find((a) => a.id === id)!.allowed;
}

/**
 * Which listener interface QEMU will use for a guest: it calls the newest one the listener lists
 * in its Interfaces property that this QEMU knows (ui/dbus-listener.c,
 * dbus_display_listener_implements). `served` is what directflip's listener lists.
 */
export function listenerInterfaceFor(v: HostVersions, served: readonly string[]): { interfaces: string[]; why: string } {
  const base = 'org.qemu.Display1.Listener';
  const q = have(v, 'qemu');
  if (!q) return { interfaces: [base], why: 'QEMU not found on this host: assuming the base listener (Scanout/Update, ScanoutDMABUF)' };
  const extras: [string, FeatureId][] = [
    ['org.qemu.Display1.Listener.Unix.Map', 'listener-unix-map'],
    ['org.qemu.Display1.Listener.Unix.ScanoutDMABUF2', 'listener-scanout-dmabuf2'],
  ];
  const got = extras.filter(([name, id]) => served.includes(name) && isAllowed(v, id) === true).map(([name]) => name);
  const unused = extras.filter(([name, id]) => served.includes(name) && isAllowed(v, id) !== true);
  const later = unused.map(([name, id]) => `${name.replace(`${base}.`, '')} needs QEMU ≥ ${short(FACTS.find((f) => f.id === id)!.needs.qemu!)}`);
  return { interfaces: [base, ...got], why: `QEMU ${q}${later.length ? `: ${later.join(', ')}` : ''}` };
}
