import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../../src/config';
import { insertMetadata, metadataElement, virshCommand } from '../../src/config/build-metadata';
import { runCli, STACK_RE } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

const MDEV = 'c2177883-f1bb-47f0-914d-32a22e3a8804';
const PLAIN = join(REPO, 'examples', 'no-metadata.xml');
const KIOSK = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');

/** What a POSIX shell makes of the printed virsh line: its argv, word for word. */
function shellWords(line: string): string[] {
  return JSON.parse(execFileSync('/bin/sh', ['-c', `set -- ${line.replace(/^virsh /, '')}; node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@"`], { encoding: 'utf8' })) as string[];
}

describe('directflip config', () => {
  test('builds the element, prints the virsh line, and what it configures', () => {
    const r = runCli(['config', '--connector', 'HDMI-A-1', '--mdev', MDEV, '--cursor', '--mode', '1920x1080@60', '--on-error', 'abort']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const [element, , , virsh] = r.stdout.split('\n');
    expect(element).toBe(`<directflip on-error="abort"><output connector="HDMI-A-1" mode="1920x1080@60"><plane from="primary" mdev="${MDEV}"/><plane from="cursor" mdev="${MDEV}" to="cursor"/></output></directflip>`);
    expect(shellWords(virsh.trim())).toEqual(['metadata', 'DOMAIN', '--config', '--uri', 'https://directflip.github.io/xmlns/domain/1', '--key', 'df', '--set', element]);
    expect(r.stdout).toMatch(/guest cursor → cursor plane/);
  });

  test('--domain prints the whole domain with the metadata in it, which validate accepts as configured', () => {
    const r = runCli(['config', '--domain', PLAIN, '--connector', 'DP-1', '--console', '0', '--x', '100', '--y', '50', '--width', '1280', '--height', '720']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const c = parseDomainXml(r.stdout);
    expect(c.name).toBe('plain-server');
    expect(c.directflip!.outputs[0]).toMatchObject({ connector: 'DP-1', planes: [{ from: 'primary', console: 0, x: 100, y: 50, width: 1280, height: 720 }] });
    const v = runCli(['validate', '-'], r.stdout);
    expect([v.status, v.stdout]).toEqual([0, expect.stringMatching(/output DP-1/)]);
    // Everything of the original domain is still there.
    expect(r.stdout).toContain(readFileSync(PLAIN, 'utf8').split('<devices>')[1].split('</devices>')[0]);
  });

  test('--domain - reads virsh dumpxml from standard input; the virsh line names that domain', () => {
    const r = runCli(['config', '--json', '--domain', '-', '--connector', 'DP-1', '--console', '0'], readFileSync(PLAIN));
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { virsh: string; domainXml: string };
    expect(j.virsh).toMatch(/^virsh metadata plain-server --config/);
    expect(parseDomainXml(j.domainXml).configured).toBe(true);
  });

  test('refusals name the option or the domain and the fix; never a stack', () => {
    const cases: [string[], number, RegExp][] = [
      [['config', '--connector', 'HDMI-A-1'], 2, /name the guest plane with --mdev UUID .* or --console N/],
      [['config', '--connector', 'HDMI-A-1', '--mdev', 'C2177883-F1BB-47F0-914D-32A22E3A8804'], 2, /--mdev ".*" is not an mdev UUID: lower case/],
      [['config', '--connector', 'HDMI-A-1', '--mdev', MDEV, '--console', '0'], 2, /mutually exclusive/],
      [['config', '--connector', 'HDMI-A-1', '--console', '-1'], 2, /--console -1 is not a console index/],
      [['config', '--connector', 'HDMI-X-1', '--console', '0'], 1, /the metadata: directflip\/output\[1\]\/@connector: "HDMI-X-1" is not a KMS connector name/],
      [['config', '--connector', 'HDMI-A-1', '--console', '0', '--mode', '1920x'], 1, /@mode/],
      [['config', '--connector', 'HDMI-A-1', '--console', '0', '--restore', 'never'], 2, /restore.*Choices/s],
      [['config', '--domain', KIOSK, '--connector', 'HDMI-A-1', '--console', '0'], 1, /already has directflip metadata .* --remove/],
    ];
    for (const [args, status, message] of cases) {
      const r = runCli(args);
      expect([args, r.status, r.stdout]).toEqual([args, status, '']);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_RE);
    }
  });
});

describe('metadata text', () => {
  test('an option given twice counts once, its last value, as for every other command (not joined with a comma)', () => {
    const r = runCli(['config', '--connector', 'HDMI-A-1', '--connector', 'DP-1', '--mdev', MDEV, '--mdev', MDEV, '-x', '1', '-x', '2', '--mode', '1x1', '--mode', '1280x720', '--on-error', 'warn', '--on-error', 'abort']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')[0]).toBe(`<directflip on-error="abort"><output connector="DP-1" mode="1280x720"><plane from="primary" mdev="${MDEV}" x="2"/></output></directflip>`);
  });

  test('attribute values are escaped, and a shell word is quoted only where it must be', () => {
    const el = metadataElement({ connector: 'HDMI-A-1', console: 0, card: `/dev/dri/by-path/a'"<&>` }, null);
    expect(el).toContain(`card="/dev/dri/by-path/a&apos;&quot;&lt;&amp;&gt;"`);
    expect(virshCommand("it's mine", '<x/>')).toBe(`virsh metadata 'it'\\''s mine' --config --uri https://directflip.github.io/xmlns/domain/1 --key df --set '<x/>'`);
  });

  test('goes into an empty <metadata/>, an existing <metadata>, or a new one', () => {
    const el = '<df:directflip xmlns:df="https://directflip.github.io/xmlns/domain/1"/>';
    expect(insertMetadata('<domain><metadata/></domain>', el)).toMatch(/<metadata>\s*<df:directflip [^>]*\/>\s*<\/metadata><\/domain>/);
    expect(insertMetadata('<domain><metadata><other xmlns="urn:x"/></metadata></domain>', el)).toMatch(/<other xmlns="urn:x"\/>\s*<df:directflip [^>]*\/>\s*<\/metadata>/);
    expect(insertMetadata('<domain><name>a</name></domain>', el)).toMatch(/<name>a<\/name>\s*<metadata>\s*<df:directflip [^>]*\/>\s*<\/metadata>\s*<\/domain>/);
    expect(() => insertMetadata('<notadomain/>', el)).toThrow(/no <\/domain>/);
  });

  test('--domain never puts the element inside a comment or CDATA, and a result without it is refused, not printed', () => {
    const el = '<df:directflip xmlns:df="https://directflip.github.io/xmlns/domain/1"/>';
    const inComment = "<domain><name>a</name><!-- old: <metadata/> and </metadata> --><metadata><x:a xmlns:x='urn:x'><![CDATA[</metadata>]]></x:a></metadata></domain>";
    const out = insertMetadata(inComment, el);
    expect(out).toContain('<!-- old: <metadata/> and </metadata> -->');
    expect(out).toMatch(/\]\]><\/x:a>\s*<df:directflip [^>]*\/>\s*<\/metadata><\/domain>$/);
    // A comment that mentions the namespace is not metadata; a </domain> in a trailing comment is not the end.
    const trailing = `<domain><name>a</name><!-- see https://directflip.github.io/xmlns/domain/1 --></domain>\n<!-- </domain> -->\n`;
    expect(insertMetadata(trailing, el)).toMatch(/-->\s*<metadata>\s*<df:directflip [^>]*\/>\s*<\/metadata>\s*<\/domain>\n<!-- <\/domain> -->\n$/);
    const r = runCli(['config', '--domain', '-', '--connector', 'HDMI-A-1', '--mdev', MDEV], `<domain type='kvm'><name>a</name>\n<!-- old: <metadata/> -->\n<devices><hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source><address uuid='${MDEV}'/></source></hostdev></devices></domain>\n`);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(parseDomainXml(r.stdout).directflip!.outputs[0].connector).toBe('HDMI-A-1');
    // A <metadata/> that is not the domain's own (deeper in the tree): refused, exit 1, nothing printed.
    const deep = runCli(['config', '--domain', '-', '--connector', 'HDMI-A-1', '--console', '0'], "<domain type='kvm'><name>a</name><devices><x:y xmlns:x='urn:x'><metadata/></x:y><graphics type='dbus'/></devices></domain>\n");
    expect([deep.status, deep.stdout]).toEqual([1, '']);
    expect(deep.stderr).toContain("stdin: the <directflip> element did not end up in the domain's <metadata>, so the result would configure nothing");
  });
});
