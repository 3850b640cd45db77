import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { decodeXml } from './decode';
import { ConfigError } from './errors';
import { parseDomainXml } from './index';
import { readDirectflip } from './metadata';
import { DIRECTFLIP_NS } from './types';
import type { DirectflipConfig, DomainConfig } from './types';
import { parseXml } from './xml';

/**
 * Host-side configuration for domains whose XML a manager (OpenStack Nova, KubeVirt) writes
 * itself: `<root>/etc/directflip/domains.d/<uuid>.xml` or `<name>.xml` holds the same
 * `<directflip>` element the metadata would, and is used only when the metadata has none. The
 * hook shim, the hook, the daemon and the CLI all find it here, under the one root.
 */
export const HOST_CONFIG_DIR = 'etc/directflip/domains.d';

/** One element, not a domain: a file larger than this is not what an admin wrote. */
export const HOST_CONFIG_MAX_BYTES = 64 * 1024;

export type ConfigOrigin = 'metadata' | 'domains.d';

export interface ConfigSource {
  /** The domain, with `directflip` from wherever it came (`directflip.file` set for domains.d). */
  config: DomainConfig;
  /** null: configured in neither place. */
  origin: ConfigOrigin | null;
  /** The domains.d file used, else null. */
  file: string | null;
  /** A domains.d file that exists but is not used, because the domain's metadata has its own. */
  ignored: string | null;
}

/** Every error about a domains.d file names it, also in `--json` (`file`). */
export class HostConfigError extends ConfigError {
  constructor(
    readonly file: string,
    e: ConfigError,
  ) {
    super(e.code, `${file}: ${e.message}`);
    Object.assign(this, { path: e.path, attribute: e.attribute, value: e.value, allowed: e.allowed, line: e.line, column: e.column });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file };
  }
}

export function hostConfigDir(root = '/'): string {
  return join(root, HOST_CONFIG_DIR);
}

/**
 * The files that could hold `domain`'s configuration, in the order they are looked for: its
 * UUID's, then its name's (a name with `/` or NUL cannot be a file name, so it has none).
 */
export function hostConfigCandidates(domain: { uuid: string | null; name: string }, root = '/'): string[] {
  const dir = hostConfigDir(root);
  const out = domain.uuid ? [join(dir, `${domain.uuid}.xml`)] : [];
  // A domain named by its own UUID has one file, not the same file twice.
  if (!/[/\0]/.test(domain.name) && Buffer.byteLength(domain.name) <= 251 && domain.name !== domain.uuid) out.push(join(dir, `${domain.name}.xml`));
  return out;
}

/**
 * A domains.d file named by the domain's UUID in another case: never used, since the shim and
 * the hook look for the exact lower-case name libvirt writes, so `validate` and `doctor` name it
 * with the rename that makes it count. (Names are not folded: libvirt's are case-sensitive, so
 * `Web.xml` may well be another domain's.)
 */
export function misnamedHostConfigs(domain: { uuid: string | null; name: string }, root = '/'): string[] {
  if (!domain.uuid) return [];
  const want = `${domain.uuid}.xml`;
  let names: string[];
  try {
    names = readdirSync(hostConfigDir(root));
  } catch {
    return []; // no domains.d, or unreadable: configFor reports what it needs
  }
  return names.filter((n) => n !== want && n.toLowerCase() === want).sort().map((n) => join(hostConfigDir(root), n));
}

/** The line saying a misnamed file is not used, and what to rename it to. */
export function misnamedNote(file: string, domain: { uuid: string | null }, root = '/'): string {
  return `${file} is not used: domains.d files are named by the domain's UUID in lower case (as libvirt writes it) or its exact name: rename it to ${join(hostConfigDir(root), `${domain.uuid}.xml`)}`;
}

/**
 * The domain's configuration and where it came from: its own `<metadata>`, else the one
 * domains.d file for it. Throws ConfigError (HostConfigError for a file) like parseDomainXml.
 */
export function configFor(domainXml: string | Buffer, root = '/'): ConfigSource {
  const domain = parseDomainXml(domainXml);
  const present = hostConfigCandidates(domain, root).filter(exists);
  if (domain.directflip) return { config: domain, origin: 'metadata', file: null, ignored: present[0] ?? null };
  if (present.length === 0) return { config: domain, origin: null, file: null, ignored: null };
  if (present.length > 1) {
    throw new HostConfigError(present[1], new ConfigError('EDF_HOST_CONFIG', `configures domain ${domain.name} a second time (${present[0]} is its UUID's file); one file per domain`, { allowed: `remove one of ${present.join(' and ')}` }));
  }
  const file = present[0];
  const directflip = readHostFile(file, domain.mdevs.map((m) => m.uuid));
  return { config: deepFreeze({ ...domain, configured: true, directflip }), origin: 'domains.d', file, ignored: null };
}

/** lstat: a dangling symbolic link is there too, and reported when read. */
function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true; // EACCES on the directory: reading it says so
  }
}

function hostError(file: string, message: string, allowed?: string): HostConfigError {
  return new HostConfigError(file, new ConfigError('EDF_HOST_CONFIG', message, allowed ? { allowed } : {}));
}

/** Reads and validates one file; nothing of a file that is not ours is ever repeated. */
export function readHostFile(file: string, mdevUuids: readonly string[]): DirectflipConfig {
  const bytes = readSmall(file);
  let rootIsOurs = false;
  let el;
  try {
    el = parseXml(decodeXml(bytes), (up, e) => {
      if (up.length === 0) rootIsOurs = e.uri === DIRECTFLIP_NS && e.local === 'directflip';
      return 'keep';
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (rootIsOurs) throw new HostConfigError(file, e);
    const at = e.line !== undefined ? ` (the XML parser stopped on line ${e.line})` : '';
    throw hostError(file, `is not a <directflip> element${at}`, `one <directflip xmlns="${DIRECTFLIP_NS}"> element, as in a domain's <metadata>`);
  }
  if (!rootIsOurs) throw hostError(file, 'is not a <directflip> element: its root element is another one, or not in the directflip namespace', `<directflip xmlns="${DIRECTFLIP_NS}">`);
  try {
    return { ...readDirectflip(el, mdevUuids), file };
  } catch (e) {
    if (e instanceof ConfigError) throw new HostConfigError(file, e);
    throw e;
  }
}

/**
 * At most the limit plus one byte, from a regular file only (a FIFO would block the hook) that
 * only its owner (root, or whoever runs this) can change: the file decides which monitor a guest
 * takes over.
 */
function readSmall(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    const fix = code === 'EACCES' ? 'run as root, or make it readable by root' : code === 'ENOENT' ? 'it is a dangling symbolic link: point it at a file or remove it' : 'check the file';
    throw hostError(file, `cannot be read (${code}): ${fix}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw hostError(file, 'is not a regular file', 'a file holding one <directflip> element');
    const uid = process.geteuid?.() ?? 0;
    if (st.uid !== 0 && st.uid !== uid) throw hostError(file, `is owned by uid ${st.uid}: only root may decide which monitor a guest takes`, `chown root ${file}`);
    if (st.mode & 0o022) throw hostError(file, `is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}): only its owner may decide which monitor a guest takes`, `chmod go-w ${file}`);
    const buf = Buffer.alloc(HOST_CONFIG_MAX_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > HOST_CONFIG_MAX_BYTES) throw hostError(file, `is too large: ${st.size} bytes, over the ${HOST_CONFIG_MAX_BYTES}-byte limit for one <directflip> element`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
