import { DIRECTFLIP_NS as NAMESPACE } from './types';

/**
 * The <directflip> element from what an admin says on the command line (`directflip config`),
 * written as text and then read back by the one parser, so nothing is produced that `validate`
 * and the hook would refuse.
 */
export interface MetadataSpec {
  connector: string;
  card?: string;
  mode?: string;
  restore?: 'previous' | 'off';
  onError?: 'warn' | 'abort';
  /** Where the primary plane comes from: an mdev's UUID, or a QEMU console index. */
  mdev?: string;
  console?: number;
  source?: string;
  to?: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  zpos?: number;
  /** Also put the guest's cursor plane on the host's cursor plane. */
  cursor?: boolean;
}

function attr(name: string, v: string | number | undefined): string {
  if (v === undefined) return '';
  const text = String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  return ` ${name}="${text}"`;
}

/**
 * The element. `prefix` null writes it unqualified and without xmlns, as `virsh metadata --set`
 * takes it (virsh puts it in the namespace `--uri` names); a prefix writes it ready for a domain.
 */
export function metadataElement(s: MetadataSpec, prefix: string | null): string {
  const q = (n: string) => (prefix ? `${prefix}:${n}` : n);
  const from = (p: 'primary' | 'cursor') =>
    `<${q('plane')}${attr('from', p)}${attr('mdev', s.mdev)}${attr('console', s.console)}${attr('source', s.source)}` +
    (p === 'primary'
      ? `${attr('to', s.to)}${attr('x', s.x)}${attr('y', s.y)}${attr('width', s.width)}${attr('height', s.height)}${attr('zpos', s.zpos)}`
      : attr('to', 'cursor')) +
    '/>';
  const planes = [from('primary'), ...(s.cursor ? [from('cursor')] : [])];
  const ns = prefix ? ` xmlns:${prefix}="${NAMESPACE}"` : '';
  return (
    `<${q('directflip')}${ns}${attr('on-error', s.onError)}>` +
    `<${q('output')}${attr('connector', s.connector)}${attr('card', s.card)}${attr('mode', s.mode)}${attr('restore', s.restore)}>` +
    `${planes.join('')}</${q('output')}></${q('directflip')}>`
  );
}

/** One word for a POSIX shell: as it is when that is safe, else single-quoted. */
export function shellWord(t: string): string {
  return /^[\w.@%+=:,/-]+$/.test(t) ? t : `'${t.replace(/'/g, `'\\''`)}'`;
}

/** The `virsh metadata` line that sets it on a defined domain, quoted for a POSIX shell. */
export function virshCommand(domain: string, element: string): string {
  return `virsh metadata ${shellWord(domain)} --config --uri ${NAMESPACE} --key df --set ${shellWord(element)}`;
}

export class InsertError extends Error {
  constructor(message: string, readonly code: 'EDF_HAS_METADATA' | 'EDF_NOT_DOMAIN') {
    super(message);
  }
}

/**
 * The domain XML with the element added to its <metadata> (made if there is none). A domain that
 * already has our element is refused rather than given a second one: libvirt keeps one element
 * per namespace, so the admin removes the old one (virsh metadata … --remove) on purpose.
 */
export function insertMetadata(domainXml: string, element: string): string {
  // Markup is searched for in a copy whose comments, CDATA and processing instructions are blanked
  // (same length, so offsets hold): a `<metadata/>` or `</domain>` in a comment is not markup.
  const markup = domainXml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g, (m) => ' '.repeat(m.length));
  if (markup.includes(NAMESPACE)) {
    throw new InsertError(`the domain already has directflip metadata (namespace ${NAMESPACE}); remove it first with: virsh metadata DOMAIN --config --uri ${NAMESPACE} --remove`, 'EDF_HAS_METADATA');
  }
  const empty = /<metadata\s*\/>/.exec(markup);
  if (empty) return `${domainXml.slice(0, empty.index)}<metadata>\n    ${element}\n  </metadata>${domainXml.slice(empty.index + empty[0].length)}`;
  const close = markup.indexOf('</metadata>');
  if (close >= 0) return `${domainXml.slice(0, close)}  ${element}\n  ${domainXml.slice(close)}`;
  const end = markup.lastIndexOf('</domain>');
  if (end < 0) throw new InsertError('this is not a libvirt domain XML: there is no </domain> to put <metadata> before; give the XML `virsh dumpxml DOMAIN` prints', 'EDF_NOT_DOMAIN');
  return `${domainXml.slice(0, end)}  <metadata>\n    ${element}\n  </metadata>\n${domainXml.slice(end)}`;
}

/**
 * A stand-in domain around the element for checking it alone: the mdev as a hostdev with
 * display='on', and a D-Bus display for a console, as the admin's real domain must have them.
 */
export function standInDomain(name: string, element: string, s: MetadataSpec): string {
  const hostdev = s.mdev
    ? `<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source><address uuid='${s.mdev}'/></source></hostdev>`
    : '';
  return `<domain type='kvm'><name>${name.replace(/[<&]/g, '_')}</name><metadata>${element}</metadata><devices>${hostdev}<graphics type='dbus'/></devices></domain>`;
}
