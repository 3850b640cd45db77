/** The typed, frozen result of parsing one libvirt domain XML. Plain data: JSON is the wire form. */

export const DIRECTFLIP_NS = 'https://directflip.github.io/xmlns/domain/1';

export interface MdevHostdev {
  /** Canonical lower-case UUID of the mediated device. */
  uuid: string;
  /** `vfio-pci`, `vfio-ccw` or `vfio-ap`. */
  model: string | null;
  display: 'on' | 'off' | null;
  ramfb: 'on' | 'off' | null;
  /** The guest-side PCI address `domain:bus:slot.function`, e.g. `0000:00:02.0`, if libvirt gave one. */
  guestAddress: string | null;
}

export interface DbusGraphics {
  /** Every attribute as libvirt wrote it (`address`, `p2p`, `audio`, …). */
  attributes: Readonly<Record<string, string>>;
  children: ReadonlyArray<{ name: string; attributes: Readonly<Record<string, string>> }>;
  /** The private bus address, present in the live XML from the `start` hook on. */
  address: string | null;
}

export interface VideoDevice {
  model: string;
  heads: number | null;
  primary: boolean;
}

export type ModeSpec =
  /** No @mode: the CRTC's current mode if it is active, else the connector's preferred one. */
  | { kind: 'current' }
  | { kind: 'preferred' }
  | { kind: 'exact'; width: number; height: number; refresh: number | null };

export type PlaneTarget = 'primary' | 'overlay' | 'cursor' | 'auto' | number;
export type PlaneSourceKind = 'auto' | 'gvt-fb' | 'qemu-dbus' | 'vfio';

export interface PlaneConfig {
  /** `directflip/output[1]/plane[2]`, for messages. */
  path: string;
  from: 'primary' | 'cursor';
  mdev: string | null;
  console: number | null;
  source: PlaneSourceKind;
  /** A plane type, `auto`, or a host plane id. */
  to: PlaneTarget;
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  zpos: number | null;
}

export interface OutputConfig {
  path: string;
  connector: string;
  /** `/dev/dri/cardN` or `/dev/dri/by-path/…`; null: the card that has the connector. */
  card: string | null;
  mode: ModeSpec;
  restore: 'previous' | 'off';
  planes: readonly PlaneConfig[];
}

export interface DirectflipConfig {
  onError: 'warn' | 'abort';
  outputs: readonly OutputConfig[];
  /** Set when read from a host-side file in /etc/directflip/domains.d instead of the domain's <metadata>. */
  file?: string;
}

export interface DomainConfig {
  name: string;
  uuid: string | null;
  mdevs: readonly MdevHostdev[];
  graphics: readonly DbusGraphics[];
  video: readonly VideoDevice[];
  /** False for a domain without our metadata: valid, and nothing to do. */
  configured: boolean;
  directflip: DirectflipConfig | null;
}
