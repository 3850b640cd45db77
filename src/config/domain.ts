import { ConfigError } from './errors';
import { attr, attributes, childElements, plainChild, plainChildren, textContent } from './xml';
import type { InterestRule, XmlElement } from './xml';
import { DIRECTFLIP_NS } from './types';
import type { DbusGraphics, MdevHostdev, VideoDevice } from './types';

/** The libvirt parts directflip reads: identity, mdev hostdevs, D-Bus graphics, video models. */
export interface DomainParts {
  name: string;
  uuid: string | null;
  mdevs: MdevHostdev[];
  graphics: DbusGraphics[];
  video: VideoDevice[];
}

const ANY_UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

function domainError(path: string, message: string, fields: { attribute?: string; value?: string; allowed?: string } = {}): ConfigError {
  return new ConfigError('EDF_DOMAIN', message, { path, ...fields });
}

/** libvirt prints UUIDs lower-case with dashes; normalise what it would accept on input. */
function libvirtUuid(path: string, v: string, attribute?: string): string {
  if (!ANY_UUID_RE.test(v)) {
    throw domainError(path, 'is not a UUID', { ...(attribute ? { attribute } : {}), value: v, allowed: 'e.g. c2177883-f1bb-47f0-914d-32a22e3a8804' });
  }
  const hex = v.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const DEVICES_READ = ['hostdev', 'graphics', 'video'];

/**
 * The parts of a domain XML that readDomain and the metadata reader look at. The rest (disks,
 * interfaces, CPU tuning, other programs' metadata…) is parsed for well-formedness but not kept,
 * so a huge document costs no tree.
 */
export const DOMAIN_INTEREST: InterestRule = (up, el) => {
  if (up.length === 0) return 'choose';
  if (up.length === 1) {
    if (el.uri) return 'skip';
    if (el.local === 'name' || el.local === 'uuid') return 'keep';
    return el.local === 'metadata' || el.local === 'devices' ? 'choose' : 'skip';
  }
  if (up.length === 2 && up[1].local === 'metadata') return el.uri === DIRECTFLIP_NS ? 'keep' : 'shell';
  if (up.length === 2 && up[1].local === 'devices') return !el.uri && DEVICES_READ.includes(el.local) ? 'keep' : 'skip';
  return 'skip';
};

export function readDomain(root: XmlElement): DomainParts {
  if (root.uri || root.local !== 'domain') {
    throw domainError(root.name, 'is not a libvirt domain: the root element must be <domain>', { allowed: 'the output of virsh dumpxml DOMAIN' });
  }
  const nameEl = plainChild(root, 'name');
  const name = nameEl ? textContent(nameEl).trim() : '';
  if (!name) throw domainError('domain/name', 'is missing or empty: a domain needs a <name>; give the XML `virsh dumpxml DOMAIN` prints');
  const uuidEl = plainChild(root, 'uuid');
  const uuid = uuidEl ? libvirtUuid('domain/uuid', textContent(uuidEl).trim()) : null;
  const devices = plainChild(root, 'devices');
  return {
    name,
    uuid,
    mdevs: devices ? readMdevs(devices) : [],
    graphics: devices ? readGraphics(devices) : [],
    video: devices ? readVideo(devices) : [],
  };
}

function onOff(v: string | undefined): 'on' | 'off' | null {
  return v === 'on' || v === 'off' ? v : null;
}

function readMdevs(devices: XmlElement): MdevHostdev[] {
  const out: MdevHostdev[] = [];
  plainChildren(devices, 'hostdev').forEach((h, i) => {
    if (attr(h, 'mode') !== 'subsystem' || attr(h, 'type') !== 'mdev') return;
    const path = `domain/devices/hostdev[${i + 1}]`;
    const source = plainChild(h, 'source');
    const srcAddr = source && plainChild(source, 'address');
    const raw = srcAddr && attr(srcAddr, 'uuid');
    if (!raw) throw domainError(`${path}/source/address`, 'an mdev hostdev needs <source><address uuid="…"/></source>', { attribute: 'uuid' });
    const guest = plainChildren(h, 'address').find((a) => attr(a, 'type') === 'pci');
    out.push({
      uuid: libvirtUuid(`${path}/source/address`, raw, 'uuid'),
      model: attr(h, 'model') ?? null,
      display: onOff(attr(h, 'display')),
      ramfb: onOff(attr(h, 'ramfb')),
      guestAddress: guest ? pciAddress(guest) : null,
    });
  });
  return out;
}

/** libvirt writes `domain='0x0000' bus='0x00' slot='0x02' function='0x0'`. */
function pciAddress(a: XmlElement): string | null {
  const n = (k: string) => {
    const v = attr(a, k);
    return v !== undefined && /^(0x)?[0-9a-fA-F]+$/.test(v) ? parseInt(v, v.startsWith('0x') ? 16 : 10) : NaN;
  };
  const [d, b, s, f] = [n('domain'), n('bus'), n('slot'), n('function')];
  if ([d, b, s, f].some(Number.isNaN)) return null;
  const hex = (x: number, w: number) => x.toString(16).padStart(w, '0');
  return `${hex(d, 4)}:${hex(b, 2)}:${hex(s, 2)}.${f.toString(16)}`;
}

function readGraphics(devices: XmlElement): DbusGraphics[] {
  return plainChildren(devices, 'graphics')
    .filter((g) => attr(g, 'type') === 'dbus')
    .map((g) => ({
      attributes: attributes(g),
      children: childElements(g).map((c) => ({ name: c.name, attributes: attributes(c) })),
      address: attr(g, 'address') ?? null,
    }));
}

function readVideo(devices: XmlElement): VideoDevice[] {
  return plainChildren(devices, 'video').flatMap((v) => {
    const m = plainChild(v, 'model');
    const type = m && attr(m, 'type');
    if (!m || !type) return [];
    const heads = attr(m, 'heads');
    return [{ model: type, heads: heads && /^[0-9]+$/.test(heads) ? Number(heads) : null, primary: attr(m, 'primary') === 'yes' }];
  });
}
