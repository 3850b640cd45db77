import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runDoctor } from '../../src/doctor/run';
import type { DoctorReport } from '../../src/doctor/run';
import type { CheckResult } from '../../src/doctor/types';
import { openHost } from '../../src/kernel/host';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';
import { SimShell } from './sim-shell';

jest.setTimeout(60_000);

const KIOSK = join(REPO, 'examples', 'gvt-kiosk-hdmi.xml');
const HOOK = 'etc/libvirt/hooks/qemu.d/50-directflip';
let dirs: string[] = [];
const temp = (p = 'directflip-doctor-') => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const doctor = (host: string, root: string, files: string[] = []) => runDoctor({ host, root, files, timeoutMs: 2000 });
const byId = (r: DoctorReport, id: string): CheckResult[] => r.checks.filter((c) => c.id === id);
const one = (r: DoctorReport, id: string): CheckResult => {
  const found = byId(r, id);
  expect(found.map((c) => c.id)).toEqual([id]);
  return found[0];
};

/** A simulated host profile file extending a shipped one. */
function profileFile(extra: object, base = 'gvt-skylake'): string {
  const f = join(temp(), 'profile.json');
  writeFileSync(f, JSON.stringify({ name: 'test-host', extends: base, description: 'a test host', ...extra }));
  return `sim:${f}`;
}

/** The kiosk example, edited. */
function kioskWith(edit: (xml: string) => string): string {
  const f = join(temp(), 'domain.xml');
  writeFileSync(f, edit(readFileSync(KIOSK, 'utf8')));
  return f;
}

describe('a ready host: installed, its bus up, on the direct-flip kernel', () => {
  test('no ✘, exit 0, and gvt-fb named as the mdevs\' source', async () => {
    const root = temp();
    const shell = new SimShell(root);
    try {
      shell.run(`directflip install --prefix ${root}`);
      shell.run('systemctl start dbus');
      const r = await doctor('sim:gvt-skylake-directflip', root, [KIOSK]);
      expect(r.checks.filter((c) => c.mark === 'fail')).toEqual([]);
      expect(r.ok).toBe(true);
      expect(one(r, 'gvt.directflip').mark).toBe('ok');
      expect(byId(r, 'mdev').map((c) => c.text)).toEqual(expect.arrayContaining([expect.stringMatching(/c2177883-.*\(i915\); sources: gvt-fb/)]));
      expect(one(r, 'hook.noticed')).toMatchObject({ mark: 'ok', text: expect.stringMatching(/virtqemud is not running: it finds the hook when it next starts/) });
      expect(one(r, 'daemon.running')).toMatchObject({ mark: 'warn', text: expect.stringMatching(/activation file is installed/) });
      const cli = runCli(['doctor', '--host', 'sim:gvt-skylake-directflip', '--root', root, KIOSK]);
      expect(cli.status).toBe(0);
      expect(cli.stdout).toMatch(/^✔ kiosk-hdmi: connector HDMI-A-1 on \/dev\/dri\/card0 is present and connected$/m);
    } finally {
      shell.stop();
    }
  });
});

describe('each broken simulated host shows its ✘ with the exact fix', () => {
  test('no GVT-g: enable_gvt=N, no vGPU types, and the modprobe.d line to fix it', async () => {
    const r = await doctor('sim:gvt-skylake-no-gvt', temp(), [KIOSK]);
    expect(one(r, 'gvt.enabled')).toMatchObject({ mark: 'fail', text: expect.stringMatching(/GVT-g is off \(i915 enable_gvt=N\)/) });
    expect(one(r, 'gvt.enabled').fix).toContain("`echo 'options i915 enable_gvt=1' > /etc/modprobe.d/i915-gvt.conf`");
    expect(byId(r, 'mdev')[0].mark).toBe('warn');
    // The kiosk's vGPU cannot exist here, and nothing creates it on demand.
    expect(one(r, 'domain.mdev')).toMatchObject({ mark: 'fail', fix: expect.stringContaining('mdevctl start -u c2177883-f1bb-47f0-914d-32a22e3a8804') });
  });

  test('a compositor holding master: named from /proc with its pid, and the kill that frees it', async () => {
    const r = await doctor('sim:gvt-skylake-compositor', temp());
    expect(one(r, 'drm.master')).toMatchObject({ mark: 'fail', text: 'DRM master of /dev/dri/card0 is held by gnome-shell (pid 1234) (EBUSY): directflip cannot commit while it is' });
    expect(one(r, 'drm.master').fix).toMatch(/^stop it: `kill 1234`/);
    // gdm3 runs too but has no card open: it is not named.
    expect(one(r, 'drm.master').text).not.toContain('gdm3');
  });

  test('hook not noticed: libvirtd started before the hook was installed, and the restart', async () => {
    const root = temp();
    runCli(['install', '--prefix', root]);
    const r = await doctor('sim:gvt-skylake-hook-not-noticed', root);
    expect(one(r, 'hook.installed').mark).toBe('ok');
    expect(one(r, 'hook.noticed')).toMatchObject({ mark: 'fail', text: expect.stringMatching(/^libvirtd \(pid 812\) started at .*, before the hook was installed at .*: libvirt looks for hooks only when it starts/), fix: expect.stringContaining('`systemctl restart libvirtd`') });
  });

  test('libvirtd restarted after the install runs it; so does one that found an older qemu.d hook at its start', async () => {
    const restarted = temp();
    runCli(['install', '--prefix', restarted]);
    await doctor('sim:gvt-skylake-hook-not-noticed', restarted);
    new SimShell(restarted).run('systemctl restart libvirtd');
    expect(one(await doctor('sim:gvt-skylake-hook-not-noticed', restarted), 'hook.noticed')).toMatchObject({ mark: 'ok', text: expect.stringMatching(/^libvirtd \(pid 900\) started after the hook was installed/) });
    // libvirt runs every qemu.d entry at call time once it found any at start (virHookInitialize).
    const older = temp();
    await doctor('sim:gvt-skylake-hook-not-noticed', older);
    const admin = join(older, 'etc/libvirt/hooks/qemu.d/10-admin');
    mkdirSync(dirname(admin), { recursive: true });
    writeFileSync(admin, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync(join(older, 'proc/stat'), 'utf8'))![1]);
    utimesSync(admin, boot, boot);
    runCli(['install', '--prefix', older]);
    expect(one(await doctor('sim:gvt-skylake-hook-not-noticed', older), 'hook.noticed').mark).toBe('ok');
  });

  test('no udmabuf: the module is there but not loaded, and modprobe', async () => {
    const r = await doctor('sim:gvt-skylake-no-udmabuf', temp());
    expect(one(r, 'udmabuf')).toMatchObject({ mark: 'fail', text: expect.stringMatching(/\/dev\/udmabuf is missing, but kernel 6\.12\.95\+bpo-amd64 has the udmabuf module/), fix: expect.stringMatching(/^`modprobe udmabuf`/) });
    // On QEMU 10.0 loading it changes nothing yet, and the line says so rather than promising zero copy.
    expect(one(r, 'udmabuf').text).toMatch(/\(loaded, it gives nothing yet: QEMU 10\.0\.2's memfds are not sealed against shrinking/);
    // QEMU 10.0 there: Map yes, ScanoutDMABUF2 not yet.
    expect(one(r, 'versions.listener').text).toMatch(/QEMU 10\.0\.2 has listener-unix-map, listener-multiple but lacks listener-scanout-dmabuf2 \(QEMU ≥ 10\.1\)/);
  });

  test('modprobe udmabuf on that host: /dev/udmabuf appears, the simulated kernel opens it, and doctor says ✔', async () => {
    const root = temp();
    const before = openHost('sim:gvt-skylake-no-udmabuf', { root });
    expect(() => before.backend.openUdmabuf('/dev/udmabuf')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    before.close();
    new SimShell(root).run('modprobe udmabuf');
    const after = openHost('sim:gvt-skylake-no-udmabuf', { root });
    try {
      expect(existsSync(join(root, 'dev/udmabuf'))).toBe(true);
      after.backend.openUdmabuf('/dev/udmabuf').close();
    } finally {
      after.close();
    }
    expect(one(await doctor('sim:gvt-skylake-no-udmabuf', root), 'udmabuf').mark).toBe('ok');
    // A module the kernel does not have cannot be loaded, as modprobe says.
    expect(() => new SimShell(root).run('modprobe vkms')).toThrow(/Module vkms not found/);
  });

  test('/dev/udmabuf present says what it gives with this QEMU: nothing without Map, copies on unsealed memfds', async () => {
    // QEMU 7.2: no Listener.Unix.Map at all, so udmabuf has nothing to take.
    const old = one(await doctor('sim:gvt-skylake', temp()), 'udmabuf');
    expect(old).toMatchObject({ mark: 'ok', text: expect.stringMatching(/QEMU 7\.2\.0 has no Listener\.Unix\.Map \(QEMU ≥ 9\.2\)/) });
    expect(old.text).not.toMatch(/scanned out with no copy/);
    // QEMU 10.0: Map, but its memfds carry no F_SEAL_SHRINK, so the damage is copied anyway.
    const root = temp();
    openHost('sim:gvt-skylake-no-udmabuf', { root }).close();
    new SimShell(root).run('modprobe udmabuf');
    const cur = one(await doctor('sim:gvt-skylake-no-udmabuf', root), 'udmabuf');
    expect(cur.text).toMatch(/QEMU 10\.0\.2's memfds are not sealed against shrinking \(F_SEAL_SHRINK\).*copied/);
    expect(cur.text).not.toMatch(/scanned out with no copy/);
    // A QEMU after 10.0: in place where the memfd is sealed; status says per stream.
    const next = one(await doctor(profileFile({ userspace: { qemu: '10.1.0', modules: ['udmabuf'] } }), temp()), 'udmabuf');
    expect(next.text).toMatch(/sealed against shrinking are scanned out with no copy/);
  });

  test('a kernel without the udmabuf module is worth knowing, not a ✘', async () => {
    const r = await doctor(profileFile({ userspace: { modules: [], moduleFiles: [] } }), temp());
    expect(one(r, 'udmabuf')).toMatchObject({ mark: 'warn', text: expect.stringMatching(/no udmabuf module \(CONFIG_UDMABUF\)/) });
  });
});

describe('the other host checks read what is there', () => {
  test('a hook without its exec bit: libvirt skips it; chmod', async () => {
    const root = temp();
    runCli(['install', '--prefix', root]);
    chmodSync(join(root, HOOK), 0o644);
    const r = await doctor('sim:gvt-skylake', root);
    expect(one(r, 'hook.installed')).toMatchObject({ mark: 'fail', text: expect.stringContaining('not an executable file (mode 644)'), fix: `run \`chmod 755 /${HOOK}\`` });
  });

  test('node outside /usr/bin with AppArmor on is a ✘; with it off, a !', async () => {
    const root = temp();
    runCli(['install', '--prefix', root]);
    const node = join(temp(), 'node');
    symlinkSync(process.execPath, node);
    const hook = join(root, HOOK);
    writeFileSync(hook, readFileSync(hook, 'utf8').replace(/^NODE=.*$/m, `NODE="\${DIRECTFLIP_NODE:-${node}}"`));
    const on = await doctor(profileFile({ userspace: { apparmor: true } }), root);
    expect(one(on, 'node.path')).toMatchObject({ mark: 'fail', text: expect.stringContaining(`the hook's node ${node} is outside /bin, /sbin and /usr/bin`), fix: expect.stringContaining('/usr/bin/node') });
    const off = await doctor('sim:gvt-skylake', temp());
    expect(one(off, 'node.path').mark).toBe('ok');
  });

  test("the hook's node is the one whose version counts: Debian 12's node 18 in the shim is a ✘", async () => {
    const root = temp();
    runCli(['install', '--prefix', root]);
    const node = join(temp(), 'node');
    writeFileSync(node, "#!/bin/sh\necho v18.19.0\n", { mode: 0o755 });
    const hook = join(root, HOOK);
    writeFileSync(hook, readFileSync(hook, 'utf8').replace(/^NODE=.*$/m, `NODE="\${DIRECTFLIP_NODE:-${node}}"`));
    const r = await doctor('sim:gvt-skylake', root);
    expect(one(r, 'node.version')).toMatchObject({ mark: 'fail', text: `node v18.19.0 at ${node} is older than 20`, fix: expect.stringContaining('`directflip install`') });
  });

  test('old QEMU and libvirt: qemu-dbus and drop-ins refused with the versions found', async () => {
    const r = await doctor(profileFile({ userspace: { qemu: '6.2.0', libvirt: '6.0.0' } }), temp());
    expect(one(r, 'versions.qemu-dbus')).toMatchObject({ mark: 'fail', text: 'source qemu-dbus needs QEMU ≥ 7.0 and libvirt ≥ 8.4; this host has QEMU 6.2.0 and libvirt 6.0.0' });
    expect(one(r, 'hook.dropins')).toMatchObject({ mark: 'fail', text: expect.stringContaining('libvirt 6.0.0 runs only /etc/libvirt/hooks/qemu') });
  });

  test('no QEMU and no libvirt installed', async () => {
    const r = await doctor(profileFile({ userspace: { qemu: null, libvirt: null } }), temp());
    expect(one(r, 'versions.qemu-dbus')).toMatchObject({ mark: 'fail', fix: 'install it: `apt install qemu-system-x86`' });
    expect(one(r, 'libvirt.installed').mark).toBe('fail');
  });

  test('a native root without /dev/dri: the DRM line is ✘ and the rest still runs', async () => {
    const r = await runDoctor({ host: 'native', root: temp(), files: [], timeoutMs: 500 });
    expect(one(r, 'drm.device')).toMatchObject({ mark: 'fail', text: expect.stringContaining('no DRM device under /dev/dri') });
    expect(byId(r, 'node.version')).toHaveLength(1);
  });

  test('doctor on a root whose simulated kernel a live process owns leaves its tree alone and says what it read', async () => {
    const root = temp();
    const live = openHost('sim:gvt-skylake', { root });
    try {
      const r = runCli(['doctor', '--json', '--host', 'sim:gvt-skylake', '--root', root]);
      const j = JSON.parse(r.stdout) as DoctorReport;
      expect(one(j, 'sim.kernel')).toMatchObject({ mark: 'warn', text: expect.stringContaining(`belongs to running process ${process.pid}`) });
      expect(existsSync(join(root, 'sys', '.directflip-sim'))).toBe(true);
      expect(live.cards()).toEqual(['/dev/dri/card0']);
    } finally {
      live.close();
    }
  });
});

describe('per-domain checks', () => {
  test('the kiosk on gvt-skylake: valid, HDMI-A-1 connected, its vGPU with display=on, the D-Bus display, an evdev hint', async () => {
    const r = await doctor('sim:gvt-skylake', temp(), [KIOSK]);
    const d = r.checks.filter((c) => c.scope === 'domain');
    expect(d.map((c) => [c.id, c.mark])).toEqual([['domain.config', 'ok'], ['domain.connector', 'ok'], ['domain.mdev', 'ok'], ['domain.graphics', 'ok'], ['domain.input', 'warn']]);
    expect(d.every((c) => c.domain === 'kiosk-hdmi')).toBe(true);
    expect(one(r, 'domain.input').fix).toContain("grabToggle='ctrl-ctrl'");
  });

  test('display=on missing, no <graphics type=dbus/>, a connector that is not there', async () => {
    const f = kioskWith((x) => x.replace(" display='on'", '').replace("<graphics type='dbus'/>", '').replace('connector="HDMI-A-1"', 'connector="HDMI-A-2"'));
    const r = await doctor('sim:gvt-skylake', temp(), [f]);
    expect(one(r, 'domain.connector')).toMatchObject({ mark: 'fail', text: 'connector HDMI-A-2 does not exist on /dev/dri/card0', fix: 'set output/@connector to one of eDP-1, HDMI-A-1, DP-1' });
    expect(one(r, 'domain.mdev')).toMatchObject({ mark: 'fail', fix: expect.stringContaining("add display='on' to the <hostdev> of c2177883-f1bb-47f0-914d-32a22e3a8804") });
    expect(one(r, 'domain.graphics')).toMatchObject({ mark: 'fail', fix: "add `<graphics type='dbus'/>` inside <devices> (`virsh edit kiosk-hdmi`)" });
  });

  test('on the direct-flip kernel the vGPU feeds gvt-fb: no display=on or D-Bus display needed', async () => {
    const f = kioskWith((x) => x.replace(" display='on'", '').replace("<graphics type='dbus'/>", ''));
    const r = await doctor('sim:gvt-skylake-directflip', temp(), [f]);
    expect(one(r, 'domain.mdev').mark).toBe('ok');
    expect(byId(r, 'domain.graphics')).toEqual([]);
  });

  test('a connector unplugged: disconnected, plug a monitor', async () => {
    const root = temp();
    const h = openHost('sim:gvt-skylake', { root });
    h.sim!.card.hotplug('HDMI-A-1', false);
    h.close();
    const r = await doctor('sim:gvt-skylake', root, [KIOSK]);
    expect(one(r, 'domain.connector')).toMatchObject({ mark: 'fail', text: 'connector HDMI-A-1 on /dev/dri/card0 is disconnected', fix: expect.stringContaining('plug a monitor into HDMI-A-1') });
  });

  test('a domain configured in /etc/directflip/domains.d under the root: checked the same, and doctor says where it came from', async () => {
    const root = temp();
    const kiosk = readFileSync(KIOSK, 'utf8');
    const element = /<df:directflip[\s\S]*<\/df:directflip>/.exec(kiosk)![0];
    const dir = join(root, 'etc/directflip/domains.d');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.xml'), element);
    const bare = kioskWith((x) => x.replace(/<metadata>[\s\S]*<\/metadata>/, ''));
    const r = await doctor('sim:gvt-skylake', root, [bare]);
    expect(one(r, 'domain.config')).toMatchObject({ mark: 'ok', text: expect.stringContaining(`1 output, from ${join(dir, '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.xml')} (the domain's <metadata> has none)`) });
    expect(one(r, 'domain.connector').mark).toBe('ok');
    expect(one(await doctor('sim:gvt-skylake', temp(), [bare]), 'domain.config')).toMatchObject({ mark: 'fail', text: expect.stringContaining('etc/directflip/domains.d/5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.xml') });
  });

  test('a domain file that never ends (/dev/zero) is read bounded, as validate reads it: a ✘ saying too large, not a hang', async () => {
    const r = one(await doctor('sim:gvt-skylake', temp(), ['/dev/zero']), 'domain.config');
    expect(r).toMatchObject({ mark: 'fail', text: expect.stringMatching(/^\/dev\/zero: .*too large/) });
  });

  test('a domains.d file named by the UUID in upper case: ✘ naming it, and the fix is a rename that makes doctor say ✔', async () => {
    const root = temp();
    const element = /<df:directflip[\s\S]*<\/df:directflip>/.exec(readFileSync(KIOSK, 'utf8'))![0];
    const dir = join(root, 'etc/directflip/domains.d');
    mkdirSync(dir, { recursive: true });
    const upper = join(dir, '5B0B4C1E-8F4F-4F53-9D4E-2D7C0C0A7A11.xml');
    writeFileSync(upper, element);
    const bare = kioskWith((x) => x.replace(/<metadata>[\s\S]*<\/metadata>/, ''));
    const r = one(await doctor('sim:gvt-skylake', root, [bare]), 'domain.config');
    expect(r).toMatchObject({ mark: 'fail', text: expect.stringContaining(`${upper} is not used`) });
    const [, from, to] = /^`mv (\S+) (\S+)`$/.exec(r.fix!)!;
    expect(from).toBe(upper);
    renameSync(from, to);
    expect(one(await doctor('sim:gvt-skylake', root, [bare]), 'domain.config').mark).toBe('ok');
  });

  test('an evdev input passes the hint; no metadata and invalid metadata are ✘ with what to do', async () => {
    const withInput = kioskWith((x) => x.replace('<graphics type', "<input type='evdev'><source dev='/dev/input/by-id/kbd-event-kbd' grab='all' grabToggle='ctrl-ctrl'/></input>\n    <graphics type"));
    expect(one(await doctor('sim:gvt-skylake', temp(), [withInput]), 'domain.input').mark).toBe('ok');
    const none = await doctor('sim:gvt-skylake', temp(), [join(REPO, 'examples', 'no-metadata.xml')]);
    expect(one(none, 'domain.config')).toMatchObject({ mark: 'fail', fix: expect.stringContaining('directflip config --connector') });
    const bad = kioskWith((x) => x.replace('from="cursor"', 'from="overlay"'));
    expect(one(await doctor('sim:gvt-skylake', temp(), [bad]), 'domain.config')).toMatchObject({ mark: 'fail', text: expect.stringContaining('@from'), fix: expect.stringContaining('directflip validate') });
  });
});

describe('the command', () => {
  test('exit 1 with a ✘, the JSON shape; exit 2 when it cannot run', () => {
    const r = runCli(['doctor', '--json', '--host', 'sim:gvt-skylake-compositor']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['checks', 'counts', 'host', 'ok', 'root']);
    expect(j).toMatchObject({ ok: false, host: 'sim:gvt-skylake-compositor' });
    for (const c of j.checks) {
      expect(['ok', 'fail', 'warn']).toContain(c.mark);
      if (c.mark === 'fail') expect(c.fix).toEqual(expect.any(String));
    }
    expect(j.counts.fail).toBe(j.checks.filter((c: CheckResult) => c.mark === 'fail').length);
    const missing = runCli(['doctor', '--host', 'sim:gvt-skylake', '/nonexistent/domain.xml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/doctor could not run: cannot read the domain XML \/nonexistent\/domain\.xml \(ENOENT\)/);
    const badHost = runCli(['doctor', '--json', '--host', 'sim:no-such-profile']);
    expect(badHost.status).toBe(2);
    expect(JSON.parse(badHost.stdout).error.message).toMatch(/known profiles are/);
  });

  test('text: one line per check, each ✘ with its fix on the same line', () => {
    const r = runCli(['doctor', '--host', 'sim:gvt-skylake-no-gvt']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('directflip doctor: sim:gvt-skylake-no-gvt');
    for (const l of lines.slice(1, -1)) expect(l).toMatch(/^[✔✘!] /);
    for (const l of lines.filter((x) => x.startsWith('✘'))) expect(l).toMatch(/ — fix: \S/);
    expect(lines[lines.length - 1]).toMatch(/^\d+ ✔, \d+ ✘, \d+ !$/);
  });
});
