import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseDomainXml } from '../../src/config';
import { CONFIG_FIXTURES, REPO } from '../helpers/fixtures';
import { reportFuzz } from '../helpers/report';

// Issue 12 item 11: the config parser on structure-aware domain XML (random but well-formed
// domains with random metadata attributes and values) and on those bytes mutated. Every outcome
// is a DomainConfig or a ConfigError with an EDF_ code; anything else is a crash. Fixed seeds in
// CI; DIRECTFLIP_FUZZ_RUNS runs longer. DIRECTFLIP_FUZZ_SAVE=1 writes each crash to
// test/fixtures/config/fuzz-crash-*.xml, where the golden test keeps it as a regression case.
const RUNS = Number(process.env.DIRECTFLIP_FUZZ_RUNS) || 300;
const SEED = 0x12_0b;
jest.setTimeout(Math.max(60_000, RUNS * 200));

const NS = 'https://directflip.github.io/xmlns/domain/1';
let cases = 0;
let crashes = 0;
afterAll(() => reportFuzz('config', { suite: 'config parser (structure-aware domain XML, mutated bytes)', cases, crashes }));

type Outcome = { ok: true; configured: boolean; outputs: number } | { ok: false; code: string };

/** The parser's verdict, or null for a crash (which is counted and, if asked, saved). */
function verdict(input: string | Buffer): Outcome | null {
  cases++;
  try {
    const c = parseDomainXml(input);
    return { ok: true, configured: c.configured, outputs: c.directflip?.outputs.length ?? 0 };
  } catch (e) {
    if (e instanceof ConfigError && /^EDF_[A-Z_]+$/.test(e.code) && e.message.length > 10) return { ok: false, code: e.code };
    crashes++;
    if (process.env.DIRECTFLIP_FUZZ_SAVE) writeFileSync(join(CONFIG_FIXTURES, `bad-fuzz-crash-${Date.now()}-${crashes}.xml`), input);
    return null;
  }
}

// ---- well-formed domains, built from parts ----

/** Any XML 1.0 Char, weighted towards the characters that break naive parsers. */
const xmlChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '-', ':', '.', '@', 'x') },
  { weight: 3, arbitrary: fc.constantFrom('<', '>', '&', '"', "'", ']', '\t', '\n', '\r', ';', '#') },
  { weight: 2, arbitrary: fc.constantFrom('\uFFFD', '\uFEFF', 'é', '€', '\u{1F600}', '\u0085', '\u2028', '\uD7FF', '\uE000') },
  { weight: 1, arbitrary: fc.fullUnicode().filter((c) => isXmlChar(c.codePointAt(0)!)) },
);
const text = fc.array(xmlChar, { maxLength: 24 }).map((a) => a.join(''));
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#13;');
const uuid = fc.uuid();
/** Values the schema knows, values near them, and anything at all. */
const value = (known: string[]) => fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: text });
/** Required keys nearly always, optional ones at random, and now and then one nobody knows. */
const attrs = (required: Record<string, string[]>, optional: Record<string, string[]>) =>
  fc
    .tuple(
      fc.tuple(...Object.entries(required).map(([k, known]) => fc.option(value(known).map((v) => `${k}="${escape(v)}"`), { freq: 12, nil: '' }))),
      fc.subarray(Object.keys(optional), { maxLength: 2 }).chain((keys) => fc.tuple(...keys.map((k) => value(optional[k]).map((v) => `${k}="${escape(v)}"`)))),
      fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('foo', 'xml:lang', 'Connector', 'on-error'), text) }),
    )
    .map(([req, opt, extra]) => [...req, ...opt, ...(extra ? [`${extra[0]}="${escape(extra[1])}"`] : [])].filter(Boolean).join(' '));

const planeAttrs = (mdevs: string[]) =>
  fc.tuple(
    fc.oneof(
      { weight: 4, arbitrary: mdevs.length ? fc.constantFrom(...mdevs).map((u) => `mdev="${u}"`) : fc.constant('console="0"') },
      { weight: 4, arbitrary: fc.constantFrom('console="0"', 'console="1"') },
      { weight: 1, arbitrary: fc.constantFrom('', 'console="64"', 'mdev="c2177883-f1bb-47f0-914d-32a22e3a8804" console="0"', 'mdev="C2177883-F1BB-47F0-914D-32A22E3A8804"') },
    ),
    attrs(
      { from: ['primary', 'cursor', 'overlay'] },
      {
        source: ['auto', 'gvt-fb', 'qemu-dbus', 'vfio'],
        to: ['primary', 'overlay', 'cursor', 'auto', '31', '0'],
        x: ['0', '100', '16383', '-5'],
        y: ['0', '1e3'],
        width: ['1', '960', '0'],
        height: ['540', '16384'],
        zpos: ['0', '255', '256'],
      },
    ),
  ).map(([src, rest]) => `${src} ${rest}`);
const outputAttrs = attrs({ connector: ['HDMI-A-1', 'DP-1', 'eDP-1', 'Virtual-1', 'HDMI-A-0'] }, {
  card: ['/dev/dri/card0', '/dev/dri/by-path/pci-0000:00:02.0-card', '/dev/dri/renderD128', '/dev/dri/../card0'],
  mode: ['1920x1080@60', 'preferred', '1280x720', '1920x1080@59.94', '0x0'],
  restore: ['previous', 'off'],
});

const domainXml = fc
  .record({
    prefix: fc.constantFrom('', 'df', 'x', 'directflip'),
    name: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('guest1', 'a name with spaces', 'café-€') }, { weight: 1, arbitrary: text }),
    uuid: fc.option(uuid, { nil: undefined }),
    description: fc.option(text, { nil: undefined }),
    comment: fc.option(fc.constantFrom('<!DOCTYPE d>', '<!ENTITY x "y">', 'a - b', '\uFFFD'), { nil: undefined }),
    cdata: fc.option(fc.constantFrom('<!DOCTYPE d [<!ENTITY a "b">]>', '&a; <x>', ']]'), { nil: undefined }),
    mdevs: fc.array(uuid, { maxLength: 2 }),
    onError: fc.option(value(['warn', 'abort']), { nil: undefined }),
    foreign: fc.array(
      fc.oneof({ weight: 6, arbitrary: fc.constant(`<app:x xmlns:app="urn:a"><app:y/></app:x>`) }, { weight: 1, arbitrary: fc.constantFrom(`<z xmlns="${NS.replace('/1', '/2')}"/>`, `<q:directflip xmlns:q="http://directflip.github.io/xmlns/domain/1"/>`) }),
      { maxLength: 1 },
    ),
    dbus: fc.boolean(),
    bom: fc.boolean(),
    decl: fc.constantFrom('', '<?xml version="1.0"?>\n', '<?xml version="1.0" encoding="UTF-8"?>\n'),
  })
  .chain((d) =>
    fc
      .array(fc.tuple(outputAttrs, fc.array(planeAttrs(d.mdevs), { minLength: 1, maxLength: 2 })), { minLength: 1, maxLength: 2 })
      .map((outputs) => {
        const p = d.prefix ? `${d.prefix}:` : '';
        const xmlns = d.prefix ? `xmlns:${d.prefix}="${NS}"` : `xmlns="${NS}"`;
        const ours = `<${p}directflip ${xmlns}${d.onError === undefined ? '' : ` on-error="${escape(d.onError)}"`}>${outputs
          .map(([oa, planes]) => `<${p}output ${oa}>${planes.map((pa) => `<${p}plane ${pa}/>`).join('\n')}</${p}output>`)
          .join('')}</${p}directflip>`;
        const hostdevs = d.mdevs.map((u) => `<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source><address uuid='${u}'/></source></hostdev>`).join('');
        return `${d.bom ? '\uFEFF' : ''}${d.decl}<domain type='kvm'>\n  <name>${escape(d.name)}</name>\n${d.uuid ? `  <uuid>${d.uuid}</uuid>\n` : ''}${
          d.description === undefined ? '' : `  <description>${escape(d.description)}</description>\n`
        }${d.comment === undefined ? '' : `  <!-- ${d.comment.replace(/--/g, '- -')} -->\n`}${d.cdata === undefined ? '' : `  <title><![CDATA[${d.cdata}]]></title>\n`}  <metadata>${d.foreign.join('')}${ours}</metadata>\n  <devices>${hostdevs}${
          d.dbus ? `<graphics type='dbus' address='unix:path=/run/x'/>` : ''
        }<video><model type='virtio' heads='1' primary='yes'/></video></devices>\n</domain>\n`;
      }),
  );

function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

test('well-formed random domains: a DomainConfig or a precise refusal, never a crash, never "malformed"', () => {
  fc.assert(
    fc.property(domainXml, fc.boolean(), (xml, asBytes) => {
      const v = verdict(asBytes ? Buffer.from(xml, 'utf8') : xml);
      if (v === null) return false;
      // The generator writes only well-formed XML: a syntax error would be the parser's bug.
      return v.ok || !['EDF_XML', 'EDF_DOCTYPE', 'EDF_TOO_LARGE'].includes(v.code);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('some random domains are configured, some refused: the generator reaches every layer', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(domainXml, (xml) => {
      const v = verdict(xml);
      seen.add(v === null ? 'crash' : v.ok ? `ok:${v.configured}` : v.code);
      return v !== null;
    }),
    { seed: SEED + 1, numRuns: RUNS },
  );
  expect(seen).toContain('ok:true');
  expect([...seen].filter((s) => s.startsWith('EDF_')).length).toBeGreaterThanOrEqual(3);
});

/** One byte-level edit: insert, delete, overwrite, duplicate a slice, or cut the rest off. */
const mutation = fc.tuple(fc.constantFrom('insert', 'delete', 'overwrite', 'duplicate', 'truncate'), fc.nat(), fc.nat(64), fc.uint8Array({ minLength: 1, maxLength: 8 }));
function mutate(bytes: Buffer, edits: [string, number, number, Uint8Array][]): Buffer {
  let b = bytes;
  for (const [kind, at, len, junk] of edits) {
    const i = b.length ? at % b.length : 0;
    const j = Buffer.from(junk);
    if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), j, b.subarray(i)]);
    else if (kind === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + len)]);
    else if (kind === 'overwrite') b = Buffer.concat([b.subarray(0, i), j, b.subarray(i + j.length)]);
    else if (kind === 'duplicate') b = Buffer.concat([b.subarray(0, i + len), b.subarray(i, i + len), b.subarray(i + len)]);
    else b = b.subarray(0, i);
  }
  return b;
}

const examples = readdirSync(join(REPO, 'examples'))
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(join(REPO, 'examples', f)));
const mutated = fc.tuple(fc.oneof(fc.constantFrom(...examples), domainXml.map((x) => Buffer.from(x, 'utf8'))), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([b, edits]) => mutate(b, edits));

test('mutated bytes: a DomainConfig or a ConfigError, never a crash', () => {
  fc.assert(
    fc.property(mutated, (b) => verdict(b) !== null),
    { seed: SEED + 2, numRuns: RUNS * 2 },
  );
});

/**
 * The same bytes through libxml2 (xmllint, what libvirt parses with): where libxml2 reads a
 * document as well-formed we must not call it malformed, and the other way round. Cases where we
 * refuse on purpose before well-formedness (a DOCTYPE, which libxml2 reads) are left out.
 */
test('well-formed or not: the same verdict as libxml2 on generated and mutated domains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'directflip-config-fuzz-'));
  try {
    const inputs = fc.sample(fc.oneof(mutated, domainXml.map((x) => Buffer.from(x, 'utf8'))), { seed: SEED + 3, numRuns: Math.min(RUNS, 5000) });
    const files = inputs.map((b, i) => {
      const f = join(dir, `case${i}.xml`);
      writeFileSync(f, b);
      return f;
    });
    const r = spawnSync('xmllint', ['--noout', '--nonet', ...files], { encoding: 'latin1', maxBuffer: 1 << 26 });
    if (r.error) throw new Error(`xmllint could not run (${r.error.message}): install the Debian package libxml2-utils`);
    const said = (kind: string) => new Set(r.stderr.split('\n').map((l) => new RegExp(`^(\\S+\\.xml):\\d+: ${kind} : `).exec(l)?.[1]).filter(Boolean));
    const libxmlRefused = said('parser error');
    // Namespace errors do not stop libxml2 (the document is still well-formed XML 1.0), while we
    // hold to the Namespaces in XML constraints on purpose (an unbound prefix cannot be matched
    // by URI): those cases are no disagreement about XML itself.
    const namespaceTrouble = said('namespace error');
    const disagree: string[] = [];
    inputs.forEach((b, i) => {
      const v = verdict(b);
      expect(v).not.toBeNull();
      if (v === null || (!v.ok && v.code === 'EDF_DOCTYPE') || namespaceTrouble.has(files[i])) return;
      const weRefuse = !v.ok && v.code === 'EDF_XML';
      if (weRefuse !== libxmlRefused.has(files[i])) disagree.push(`${weRefuse ? 'we refuse, libxml2 accepts' : 'we accept, libxml2 refuses'}: ${JSON.stringify(b.toString('latin1').slice(0, 600))}`);
    });
    expect(disagree).toEqual([]);
    // Not vacuous: the mutations make plenty of both.
    expect(libxmlRefused.size).toBeGreaterThan(inputs.length / 10);
    expect(inputs.length - libxmlRefused.size).toBeGreaterThan(inputs.length / 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every crash found so far, kept as a fixture, is now a DomainConfig or a ConfigError', () => {
  for (const f of readdirSync(CONFIG_FIXTURES).filter((x) => x.endsWith('.xml'))) expect([f, verdict(readFileSync(join(CONFIG_FIXTURES, f))) !== null]).toEqual([f, true]);
});
