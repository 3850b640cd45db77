/**
 * Host-side configuration end to end (issue 15 item 3): a real `directflip daemon --root DIR` on
 * a simulated host, a real dbus-daemon, and the hook shim run as libvirt runs it with the same
 * root. A domain whose XML has no metadata is shown from DIR/etc/directflip/domains.d; one whose
 * metadata has its own is shown from that; `status` says which, and a bad file fails the start
 * naming it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../../src/daemon/client';
import { runHookAsLibvirt, startBus, startDaemon } from '../helpers/bus';
import type { DaemonProc } from '../helpers/bus';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

jest.setTimeout(60_000);

const NS = 'https://directflip.github.io/xmlns/domain/1';
const kiosk = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const UUID = /<uuid>([^<]+)<\/uuid>/.exec(kiosk)![1];
const MDEV = /uuid='([0-9a-f-]{36})'/.exec(kiosk)![1];
/** As a manager (Nova, KubeVirt) writes it: the same domain, no <metadata>. */
const bare = kiosk.replace(/<metadata>[\s\S]*<\/metadata>/, '');
const onDp1 = `<directflip xmlns="${NS}" on-error="abort"><output connector="DP-1"><plane from="primary" mdev="${MDEV}"/></output></directflip>\n`;

let bus: ReturnType<typeof startBus>;
let root: string;
let daemon: DaemonProc;
let confDir: string;
beforeAll(async () => {
  bus = startBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-e2e-domainsd-'));
  confDir = join(root, 'etc/directflip/domains.d');
  mkdirSync(confDir, { recursive: true });
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
});
afterAll(async () => {
  await daemon?.stop();
  bus?.stop();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => rmSync(join(confDir, `${UUID}.xml`), { force: true }));

const hook = (op: string, xml: string) =>
  runHookAsLibvirt(['kiosk-hdmi', op, op === 'release' || op === 'stopped' ? 'end' : 'begin', '-'], xml, {
    DIRECTFLIP_BUS_ADDRESS: bus.address, DIRECTFLIP_ROOT: root, DIRECTFLIP_TIMEOUT_MS: '5000',
  });
const status = async () => (await callManager(bus.address, 'Status', '', [], 5000))[0] as [string, string, [string, ...unknown[]][], string[]][];

/** prepare → started through the hook; what Status and `directflip status` say; then stopped → release. */
async function lifecycle(xml: string) {
  for (const op of ['prepare', 'start', 'started']) expect(hook(op, xml)).toMatchObject({ status: 0, stdout: '', stderr: '' });
  const s = await status();
  const cli = runCli(['status', '--bus', bus.address]);
  for (const op of ['stopped', 'release']) expect(hook(op, xml)).toMatchObject({ status: 0, stdout: '' });
  expect(await status()).toEqual([]);
  return { s, cli };
}

test('no metadata: the domains.d file for its UUID puts it on DP-1, and status says so', async () => {
  const file = join(confDir, `${UUID}.xml`);
  writeFileSync(file, onDp1);
  const { s, cli } = await lifecycle(bare);
  expect(s.map((d) => [d[0], d[1], d[2][0][0]])).toEqual([['kiosk-hdmi', 'active', 'DP-1']]);
  expect(s[0][3]).toContain(`config: from ${file} (the domain's <metadata> has none)`);
  expect(cli.status).toBe(0);
  expect(cli.stdout).toMatch(/kiosk-hdmi\s+active\s+DP-1/);
  expect(cli.stdout).toContain(`kiosk-hdmi: config: from ${file}`);
});

test("metadata: the domain's own element wins over a domains.d file (HDMI-A-1, not DP-1)", async () => {
  writeFileSync(join(confDir, `${UUID}.xml`), onDp1);
  const { s, cli } = await lifecycle(kiosk);
  expect(s.map((d) => [d[0], d[1], d[2][0][0]])).toEqual([['kiosk-hdmi', 'active', 'HDMI-A-1']]);
  expect(cli.stdout).toContain("kiosk-hdmi: config: from the domain's <metadata>");
});

test('neither place: the hook never calls the daemon, which never hears of it', async () => {
  const before = daemon.log().length;
  expect(hook('prepare', bare)).toMatchObject({ status: 0, stdout: '', stderr: '' });
  expect(await status()).toEqual([]);
  expect(daemon.log().slice(before)).toBe('');
});

test('an invalid domains.d file fails the start, naming the file, and shows nothing', async () => {
  const file = join(confDir, `${UUID}.xml`);
  writeFileSync(file, onDp1.replace('DP-1', 'HDMI-1'));
  const r = hook('prepare', bare);
  expect([r.status, r.stdout]).toEqual([1, '']);
  expect(r.stderr).toContain(`directflip: domain kiosk-hdmi: invalid directflip configuration: ${file}: directflip/output[1]/@connector: "HDMI-1" is not a KMS connector name`);
  expect(await status()).toEqual([]);
});
