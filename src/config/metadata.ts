import { ConfigError } from './errors';
import * as rule from './rules';
import { DIRECTFLIP_NS } from './types';
import type { DirectflipConfig, OutputConfig, PlaneConfig, PlaneSourceKind, PlaneTarget } from './types';
import { childElements, isNamespaceDeclaration, plainChild } from './xml';
import type { XmlElement } from './xml';

/** Anything under this base that is not exactly our URI is a typo or a version we don't speak. */
const NS_BASE_RE = /^https?:\/\/directflip\.github\.io\/xmlns\//;

/** The one element of our namespace in `<metadata>`, or null when the domain is not configured. */
export function findOurElement(root: XmlElement): XmlElement | null {
  const metadata = plainChild(root, 'metadata');
  if (!metadata) return null;
  const ours: XmlElement[] = [];
  for (const el of childElements(metadata)) {
    const ns = el.uri;
    if (ns === DIRECTFLIP_NS) ours.push(el);
    else if (NS_BASE_RE.test(ns)) {
      throw new ConfigError('EDF_NAMESPACE', `uses the unknown directflip namespace ${JSON.stringify(ns)}`, {
        path: `metadata/${el.name}`,
        allowed: DIRECTFLIP_NS,
        ...line(el),
      });
    }
  }
  if (ours.length > 1) {
    throw new ConfigError('EDF_DUPLICATE_ELEMENT', `holds ${ours.length} elements of the directflip namespace; libvirt keeps one element per namespace`, {
      path: 'metadata',
      allowed: 'exactly one <directflip> element',
      ...line(ours[1]),
    });
  }
  return ours[0] ?? null;
}

function line(el: XmlElement): { line: number } {
  return { line: el.line };
}

/** Attribute reader for one element: refuses what it doesn't know, remembers what it read. */
class Attrs {
  constructor(
    private readonly el: XmlElement,
    readonly path: string,
    private readonly known: readonly string[],
  ) {
    for (const a of el.attrs) {
      if (isNamespaceDeclaration(a)) continue;
      if (a.uri || !known.includes(a.local)) {
        throw new ConfigError('EDF_UNKNOWN_ATTRIBUTE', 'is not a directflip attribute here', {
          path,
          attribute: a.name,
          value: a.value,
          allowed: known.length ? known.join(', ') : 'no attributes',
          ...line(el),
        });
      }
    }
  }

  get(name: string): string | undefined {
    return this.el.attrs.find((a) => a.name === name)?.value;
  }

  required(name: string, example: string): string {
    const v = this.get(name);
    if (v === undefined) {
      throw new ConfigError('EDF_MISSING_ATTRIBUTE', 'is required', { path: this.path, attribute: name, allowed: example, ...line(this.el) });
    }
    return v;
  }

  where(attribute: string): rule.Where {
    return { path: this.path, attribute };
  }

  optional<T>(name: string, parse: (w: rule.Where, v: string) => T): T | null {
    const v = this.get(name);
    return v === undefined ? null : parse(this.where(name), v);
  }
}

/** Our children by local name, refusing other elements and stray text. */
function ourChildren(el: XmlElement, path: string, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (c.kind === 'text') {
      if (c.text.trim()) {
        throw new ConfigError('EDF_TEXT', 'holds text; directflip elements hold only elements: remove the text', { path, value: c.text.trim().slice(0, 40) });
      }
      continue;
    }
    if (c.uri === DIRECTFLIP_NS && c.local === name) {
      out.push(c);
      continue;
    }
    const why = c.uri === DIRECTFLIP_NS ? 'is not a directflip element here' : `is not in the directflip namespace (write it with the same prefix as its parent)`;
    throw new ConfigError('EDF_UNKNOWN_ELEMENT', why, { path: `${path}/${c.name}`, allowed: name ? `<${name}>` : 'no child elements', ...line(c) });
  }
  return out;
}

export function readDirectflip(el: XmlElement, mdevUuids: readonly string[]): DirectflipConfig {
  const path = 'directflip';
  if (el.local !== 'directflip') {
    throw new ConfigError('EDF_UNKNOWN_ELEMENT', 'is not a directflip element', { path: `metadata/${el.name}`, allowed: '<directflip>', ...line(el) });
  }
  const a = new Attrs(el, path, ['on-error']);
  const onError = a.optional('on-error', (w, v) => rule.oneOf(w, v, ['warn', 'abort'] as const)) ?? 'warn';
  const outputs = ourChildren(el, path, 'output').map((o, i) => readOutput(o, `${path}/output[${i + 1}]`, mdevUuids));
  if (outputs.length === 0) {
    throw new ConfigError('EDF_EMPTY', 'has no <output>; name at least one connector to show the guest on', { path, ...line(el) });
  }
  const seen = new Map<string, string>();
  for (const o of outputs) {
    const key = `${o.card ?? ''}\0${o.connector}`;
    const first = seen.get(key);
    if (first) {
      throw new ConfigError('EDF_DUPLICATE_CONNECTOR', `names connector ${o.connector} already used by ${first}`, {
        path: o.path,
        attribute: 'connector',
        value: o.connector,
        allowed: 'each connector in one <output> only',
      });
    }
    seen.set(key, o.path);
  }
  checkPlaneIds(outputs);
  return { onError, outputs };
}

function readOutput(el: XmlElement, path: string, mdevUuids: readonly string[]): OutputConfig {
  const a = new Attrs(el, path, ['connector', 'card', 'mode', 'restore']);
  const connector = rule.connector(a.where('connector'), a.required('connector', 'a KMS connector name, e.g. HDMI-A-1'));
  const card = a.optional('card', rule.card);
  const mode = a.optional('mode', rule.mode) ?? { kind: 'current' as const };
  const restore = a.optional('restore', (w, v) => rule.oneOf(w, v, ['previous', 'off'] as const)) ?? 'previous';
  const planes = ourChildren(el, path, 'plane').map((p, i) => readPlane(p, `${path}/plane[${i + 1}]`, mdevUuids));
  if (planes.length === 0) {
    throw new ConfigError('EDF_EMPTY', 'has no <plane>; say which guest plane goes on this output', { path, ...line(el) });
  }
  const seen = new Map<string, string>();
  for (const p of planes) {
    const first = seen.get(p.from);
    if (first) {
      throw new ConfigError('EDF_DUPLICATE_PLANE', `maps the guest ${p.from} plane a second time (first in ${first})`, {
        path: p.path,
        attribute: 'from',
        value: p.from,
        allowed: 'each guest plane once per output',
      });
    }
    seen.set(p.from, p.path);
  }
  return { path, connector, card, mode, restore, planes };
}

const SOURCES = ['auto', 'gvt-fb', 'qemu-dbus', 'vfio'] as const;
const TARGETS = ['primary', 'overlay', 'cursor', 'auto'] as const;

function target(w: rule.Where, v: string): PlaneTarget {
  if (/^[0-9]/.test(v)) return rule.integer(w, v, 1, 0x7fffffff);
  if ((TARGETS as readonly string[]).includes(v)) return v as PlaneTarget;
  throw new ConfigError('EDF_BAD_VALUE', 'is not a plane target', {
    ...w,
    value: v,
    allowed: `${TARGETS.join(', ')} or a host plane id as directflip probe lists it`,
  });
}

function readPlane(el: XmlElement, path: string, mdevUuids: readonly string[]): PlaneConfig {
  const a = new Attrs(el, path, ['from', 'mdev', 'console', 'source', 'to', 'x', 'y', 'width', 'height', 'zpos']);
  ourChildren(el, path, '');
  const from = rule.oneOf(a.where('from'), a.required('from', 'primary or cursor'), ['primary', 'cursor'] as const);
  const mdev = a.optional('mdev', rule.uuid);
  const console = a.optional('console', (w, v) => rule.integer(w, v, 0, 63));
  const source: PlaneSourceKind = a.optional('source', (w, v) => rule.oneOf(w, v, SOURCES)) ?? 'auto';
  const to = a.optional('to', target) ?? 'auto';
  const coord = (w: rule.Where, v: string) => rule.integer(w, v, 0, rule.MAX_DIMENSION - 1);
  const size = (w: rule.Where, v: string) => rule.integer(w, v, 1, rule.MAX_DIMENSION);
  const plane: PlaneConfig = {
    path,
    from,
    mdev,
    console,
    source,
    to,
    x: a.optional('x', coord),
    y: a.optional('y', coord),
    width: a.optional('width', size),
    height: a.optional('height', size),
    zpos: a.optional('zpos', (w, v) => rule.integer(w, v, 0, 255)),
  };
  checkPlaneSource(plane, mdevUuids);
  return plane;
}

/**
 * Exactly one of @mdev/@console: an mdev already determines its QEMU console (by PCI address), so
 * naming both could only disagree.
 */
function checkPlaneSource(p: PlaneConfig, mdevUuids: readonly string[]): void {
  if ((p.mdev === null) === (p.console === null)) {
    throw new ConfigError('EDF_PLANE_SOURCE', p.mdev === null ? 'names neither @mdev nor @console' : 'names both @mdev and @console', {
      path: p.path,
      allowed: 'exactly one: mdev="UUID of a <hostdev type=\'mdev\'>" or console="N" (a QEMU D-Bus display console)',
    });
  }
  if (p.console !== null && (p.source === 'gvt-fb' || p.source === 'vfio')) {
    throw new ConfigError('EDF_PLANE_SOURCE', `source ${p.source} reads an mdev, but this plane names a console`, {
      path: p.path,
      attribute: 'source',
      value: p.source,
      allowed: 'qemu-dbus or auto with @console; gvt-fb or vfio need @mdev',
    });
  }
  if (p.mdev !== null && !mdevUuids.includes(p.mdev)) {
    const have = mdevUuids.length ? `this domain's mdevs: ${mdevUuids.join(', ')}` : 'this domain has no mdev hostdev';
    throw new ConfigError('EDF_MDEV_NOT_IN_DOMAIN', `is not an mdev of this domain (${have}); add <hostdev mode='subsystem' type='mdev'> with that UUID or fix @mdev`, {
      path: p.path,
      attribute: 'mdev',
      value: p.mdev,
    });
  }
}

/** A host plane id can carry one guest plane only. */
function checkPlaneIds(outputs: readonly OutputConfig[]): void {
  const seen = new Map<number, string>();
  for (const o of outputs) {
    for (const p of o.planes) {
      if (typeof p.to !== 'number') continue;
      const first = seen.get(p.to);
      if (first) {
        throw new ConfigError('EDF_DUPLICATE_PLANE', `puts a second guest plane on host plane ${p.to} (first in ${first})`, {
          path: p.path,
          attribute: 'to',
          value: String(p.to),
          allowed: 'each host plane id once',
        });
      }
      seen.set(p.to, p.path);
    }
  }
}
