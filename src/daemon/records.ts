import type { DomainConfig } from '../config';
import type { Plan } from '../kms/types';
import type { DomainRecord } from './journal';
import type { StandIns } from '../kms/stand-ins';
import type { DomainStreams, StreamStatus } from './streams';

/** A domain the engine holds: its record and what it keeps alive for it. */
export interface Live {
  record: DomainRecord;
  /** Streaming sources feeding this domain's planes, running while it is active. */
  streams: DomainStreams | null;
  /** Framebuffers of the guest's size that hold each plane until its source delivers frames. */
  standIns: StandIns;
  notes: string[];
}

export interface DomainStatus {
  /** The domain's name, as people and libvirt know it. */
  domain: string;
  uuid: string;
  /** `parked`: shown, but its monitor is unplugged or DRM master is away (the notes say which). */
  state: DomainRecord['state'] | 'parked';
  plan: Plan;
  sources: DomainRecord['sources'];
  streams: StreamStatus[];
  notes: string[];
}

export function statusOf(r: DomainRecord, notes: string[], streams: DomainStreams | null = null): DomainStatus {
  return { domain: r.name, uuid: r.uuid, state: r.state, plan: r.plan, sources: r.sources, streams: streams?.status() ?? [], notes };
}

/** Stand-ins are XRGB8888 unless the plane is a cursor, which needs alpha. */
export function guestFormat(p: { from: string }): number {
  return p.from === 'cursor' ? 0x34325241 : 0x34325258;
}

export function describe(p: Plan): string {
  return p.outputs.map((o) => `${o.connector} on CRTC ${o.crtcId} ${o.mode.hdisplay}x${o.mode.vdisplay}@${o.mode.vrefresh}: ${o.planes.map((x) => `${x.from}→plane ${x.planeId}`).join(', ')}`).join('; ');
}

/** The occupancy's name for a domain: unique per UUID, readable in a refusal. */
export function holderLabel(name: string, uuid: string): string {
  return `${name} (${uuid})`;
}

/**
 * Where QEMU's display is and what each plane reads there. libvirt writes the bus address into
 * the live XML from the `start` hook on (absent at `prepare`). A plane's console is its
 * `console`, else its mdev's guest PCI address (QEMU's DeviceAddress). A plane given a size
 * stretches the picture to it; otherwise the picture is shown 1:1, whatever mode the guest sets.
 */
export function displayOf(c: DomainConfig): NonNullable<DomainRecord['display']> {
  const planes = c.directflip!.outputs.flatMap((o) => o.planes);
  return {
    address: c.graphics.find((g) => g.address)?.address ?? null,
    wants: Object.fromEntries(planes.map((p) => [p.path, { console: p.console, pci: c.mdevs.find((m) => m.uuid === p.mdev)?.guestAddress ?? null }])),
    geometry: Object.fromEntries(planes.map((p) => [p.path, p.width !== null || p.height !== null ? 'planned' : 'guest'])),
  };
}
