import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseDomainXml } from '../../src/config';
import { configFor } from '../../src/config/host-config';
import { BusKeeper } from '../../src/daemon/bus-keeper';
import { connectBus } from '../../src/daemon/connect';
import { Engine } from '../../src/daemon/engine';
import { Journal } from '../../src/daemon/journal';
import { checkRecord } from '../../src/daemon/journal-schema';
import { linkClosedDetail } from '../../src/daemon/link-detail';
import { RunLock } from '../../src/daemon/run-lock';
import { trustedDir } from '../../src/daemon/state-dir';
import { kernelError } from '../../src/kernel/errors';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { readDmabuf2 } from '../../src/sources/dmabuf-layout';
import { readHeader } from '../../src/sources/dbus-wire';
import { withTimeout } from '../../src/util/timeout';
import { runCli } from '../helpers/cli';
import { REPO } from '../helpers/fixtures';

/** One real occurrence of an error: its message as printed, and the thing it must name. */
export interface Sample {
  message: string;
  /** What the admin has to find: the file, element path, option, device or domain the message is about. */
  thing: string;
}

const KIOSK = readFileSync(join(REPO, 'examples', 'gvt-kiosk-hdmi.xml'), 'utf8');
const NS = 'https://directflip.github.io/xmlns/domain/1';
const META = (inner: string) => KIOSK.replace(/<df:directflip[\s\S]*<\/df:directflip>/, inner);
const OUT = (planes: string, attrs = 'connector="HDMI-A-1"') => META(`<df:directflip xmlns:df="${NS}"><df:output ${attrs}>${planes}</df:output></df:directflip>`);
const PLANE = `<df:plane from="primary" mdev="c2177883-f1bb-47f0-914d-32a22e3a8804"/>`;

function configError(xml: string | Buffer): string {
  try {
    parseDomainXml(xml);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function caught(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const cliError = (args: string[], input?: string) => {
  const r = runCli([...args, '--json'], input);
  return JSON.parse(r.stdout).error as { code: string; message: string };
};

function temp(): string {
  return mkdtempSync(join(tmpdir(), 'directflip-errors-'));
}

/** An engine on a fresh simulated host; `f` gets it and the host, and everything is closed after. */
async function withEngine<T>(f: (e: Engine, host: Host, run: string) => Promise<T>, profile = 'sim:gvt-skylake'): Promise<T> {
  const host = openHost(profile);
  const run = temp();
  const e = new Engine(host, new Journal(run), () => undefined);
  let down = false;
  const shutdown = e.shutdown.bind(e);
  e.shutdown = () => ((down = true), shutdown());
  try {
    return await f(e, host, run);
  } finally {
    if (!down) await shutdown();
    host.close();
    rmSync(run, { recursive: true, force: true });
  }
}

const kiosk = () => parseDomainXml(KIOSK);

export const SAMPLES: Record<string, () => Sample | Promise<Sample>> = {
  EDF_TOO_LARGE: () => ({ message: configError(Buffer.alloc(5 * 1024 * 1024, 0x20)), thing: '5242880' }),
  EDF_DOCTYPE: () => ({ message: configError(`<!DOCTYPE domain>${KIOSK}`), thing: 'DOCTYPE' }),
  EDF_XML: () => ({ message: configError(KIOSK.replace('<name>', '<name>&')), thing: 'line 2' }),
  EDF_DOMAIN: () => ({ message: configError(KIOSK.replace(/<name>.*<\/name>/, '<name></name>')), thing: 'domain/name' }),
  EDF_NAMESPACE: () => ({ message: configError(OUT(PLANE.replace('<df:plane', '<df:plane xmlns:x="urn:x" x:y="1"'))), thing: 'directflip/output[1]/plane[1]' }),
  EDF_DUPLICATE_ELEMENT: () => ({ message: configError(KIOSK.replace('</metadata>', `<df2:directflip xmlns:df2="${NS}"/></metadata>`)), thing: 'directflip' }),
  EDF_UNKNOWN_ELEMENT: () => ({ message: configError(OUT(`${PLANE}<df:overlay/>`)), thing: 'overlay' }),
  EDF_UNKNOWN_ATTRIBUTE: () => ({ message: configError(OUT(PLANE.replace('from=', 'colour="red" from='))), thing: 'colour' }),
  EDF_MISSING_ATTRIBUTE: () => ({ message: configError(OUT(PLANE, 'mode="preferred"')), thing: 'connector' }),
  EDF_BAD_VALUE: () => ({ message: configError(OUT(PLANE, 'connector="HDMI-A-1" mode="huge"')), thing: 'huge' }),
  EDF_TEXT: () => ({ message: configError(OUT(`${PLANE}hello`)), thing: 'directflip/output[1]' }),
  EDF_EMPTY: () => ({ message: configError(OUT('')), thing: 'directflip/output[1]' }),
  EDF_PLANE_SOURCE: () => ({ message: configError(OUT('<df:plane from="primary"/>')), thing: 'directflip/output[1]/plane[1]' }),
  EDF_MDEV_NOT_IN_DOMAIN: () => ({ message: configError(OUT(PLANE.replace('c2177883-f1bb-47f0-914d-32a22e3a8804', '00000000-0000-4000-8000-000000000001'))), thing: '00000000-0000-4000-8000-000000000001' }),
  EDF_DUPLICATE_CONNECTOR: () => ({ message: configError(META(`<df:directflip xmlns:df="${NS}"><df:output connector="HDMI-A-1">${PLANE}</df:output><df:output connector="HDMI-A-1"><df:plane from="cursor" mdev="c2177883-f1bb-47f0-914d-32a22e3a8804"/></df:output></df:directflip>`)), thing: 'HDMI-A-1' }),
  EDF_DUPLICATE_PLANE: () => ({ message: configError(OUT(`${PLANE}${PLANE}`)), thing: 'directflip/output[1]/plane[2]' }),
  EDF_HOST_CONFIG: () => {
    const root = temp();
    try {
      const dir = join(root, 'etc/directflip/domains.d');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.xml'), '<not-directflip/>');
      const noMeta = KIOSK.replace(/<metadata>[\s\S]*<\/metadata>/, '');
      return { message: thrown(() => configFor(Buffer.from(noMeta), root)), thing: '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.xml' };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  EDF_NOT_CONFIGURED: () => ({ message: cliError(['plan', join(REPO, 'examples', 'no-metadata.xml'), '--host', 'sim:gvt-skylake']).message, thing: 'no-metadata.xml' }),
  EDF_HAS_METADATA: () => ({ message: cliError(['config', '--connector', 'HDMI-A-1', '--mdev', 'c2177883-f1bb-47f0-914d-32a22e3a8804', '--domain', join(REPO, 'examples', 'gvt-kiosk-hdmi.xml')]).message, thing: NS }),
  EDF_NOT_DOMAIN: () => ({ message: cliError(['config', '--connector', 'HDMI-A-1', '--mdev', 'c2177883-f1bb-47f0-914d-32a22e3a8804', '--domain', '-'], '<network/>').message, thing: '</domain>' }),
  EUSAGE: () => ({ message: runCli(['plan', 'x.xml', '--budget-ms', 'soon']).stderr, thing: '--budget-ms' }),
  EDF_HOST: () => ({ message: cliError(['probe', '--host', 'laptop']).message, thing: '"laptop"' }),
  EDF_PROFILE: () => ({ message: cliError(['probe', '--host', 'sim:nope']).message, thing: '"nope"' }),
  EDF_NO_ADDON: () => {
    // The loader's own message where the addon cannot load: a checkout that never ran npm ci.
    const src = readFileSync(join(REPO, 'src/kernel/native.ts'), 'utf8');
    return { message: /new Error\(`([^`]+)`\), \{ code: 'EDF_NO_ADDON'/.exec(src)![1], thing: 'native addon' };
  },
  EDF_MANIFEST: () => {
    const root = temp();
    try {
      mkdirSync(join(root, 'var/lib/directflip'), { recursive: true });
      writeFileSync(join(root, 'var/lib/directflip/install-manifest.json'), '{"files": 3}');
      return { message: cliError(['uninstall', '--prefix', root]).message, thing: 'install-manifest.json' };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  EDF_DOCTOR_INPUT: () => ({ message: cliError(['doctor', '--host', 'sim:gvt-skylake', '/nonexistent/win11.xml']).message, thing: '/nonexistent/win11.xml' }),
  ENOTRUNNING: () => {
    const dir = temp();
    try {
      return { message: cliError(['status', '--bus', `unix:path=${join(dir, 'none')}`]).message, thing: 'directflipd' };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  EDF_PLAN_REFUSED: () => ({ message: cliError(['plan', '-', '--host', 'sim:gvt-skylake'], OUT(PLANE, 'connector="HDMI-A-1" mode="7680x4320"')).message, thing: 'HDMI-A-1' }),
  EDF_NO_SOURCE: () => ({ message: cliError(['plan', '-', '--host', 'sim:gvt-skylake'], OUT('<df:plane from="primary" console="0"/>').replace("<graphics type='dbus'/>", '')).message, thing: 'directflip/output[1]/plane[1]' }),
  EDF_SOURCE_UNAVAILABLE: () => ({ message: cliError(['plan', '-', '--host', 'sim:gvt-skylake'], OUT(PLANE.replace('/>', ' source="gvt-fb"/>'))).message, thing: 'gvt-fb' }),
  EDF_STATE_UNTRUSTED: () => {
    const dir = temp();
    try {
      const link = join(dir, 'state');
      symlinkSync(tmpdir(), link);
      return { message: thrown(() => trustedDir(link)), thing: link };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  EDF_LOCKED: () => {
    const dir = temp();
    chmodSync(dir, 0o700);
    // A pid file naming a live node process is a running daemon's.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'directflipd.pid'), `${other.pid}\n`);
    try {
      return { message: thrown(() => RunLock.acquire(dir)), thing: `pid ${other.pid}` };
    } finally {
      other.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  ENODEV: () => {
    const root = temp();
    try {
      return { message: thrown(() => openHost('native', { root })), thing: '/dev/dri' };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  EISDIR: () => ({ message: cliError(['validate', tmpdir()]).message, thing: tmpdir() }),
  ENODATA: () => {
    const root = temp();
    const fifo = join(root, 'domain.xml');
    try {
      execFileSync('mkfifo', [fifo]);
      return { message: cliError(['validate', fifo]).message, thing: fifo };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  ENOENT: () => {
    const root = temp();
    try {
      return { message: cliError(['uninstall', '--prefix', root]).message, thing: join(root, 'var/lib/directflip/install-manifest.json') };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  EBUSY: () => {
    // The simulated kernel on a root, last saved by a node process that still runs.
    const root = temp();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      openHost('sim:gvt-skylake', { root }).close();
      const state = join(root, 'sim-kernel', 'state.json');
      writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, 'utf8')), pid: other.pid }));
      return { message: thrown(() => openHost('sim:gvt-skylake', { root })), thing: `running process ${other.pid}` };
    } finally {
      other.kill();
      rmSync(root, { recursive: true, force: true });
    }
  },
  ECONNREFUSED: async () => {
    // connect(2) to a path that is no socket is refused.
    const dir = temp();
    try {
      writeFileSync(join(dir, 'bus'), '');
      return { message: (await rejected(connectBus(`unix:path=${join(dir, 'bus')}`, 2000))).message, thing: join(dir, 'bus') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  ENOTCONN: async () => ({ message: (await rejected(new BusKeeper('unix:path=/run/nowhere', () => undefined).requestName('io.github.directflip1', 4))).message, thing: 'unix:path=/run/nowhere' }),
  ETIMEDOUT: async () => ({ message: (await rejected(withTimeout(new Promise(() => undefined), 10, 'directflipd Status'))).message, thing: 'directflipd Status' }),
  EINVAL: () => {
    const host = openHost('sim:gvt-skylake-directflip');
    try {
      const attr = join(host.sys.mdevDevice('c2177883-f1bb-47f0-914d-32a22e3a8804'), 'intel_vgpu', 'plane_id_index');
      return { message: thrown(() => host.sysfs.write(realpathSync(attr), '7')), thing: 'plane_id_index' };
    } finally {
      host.close();
    }
  },
  // The daemon logs a damaged record at start as it reads the journal.
  EDF_JOURNAL_SCHEMA: async () => {
    const host = openHost('sim:gvt-skylake');
    const run = temp();
    const lines: string[] = [];
    mkdirSync(join(run, 'domains'), { recursive: true });
    writeFileSync(join(run, 'domains', '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.json'), JSON.stringify({ version: 1, uuid: 'x' }));
    const e = new Engine(host, new Journal(run), (_l, _d, m) => void lines.push(m));
    try {
      await e.reconcile();
      expect(thrown(() => checkRecord({ version: 1, uuid: 'x' }))).toBeTruthy();
      return { message: lines.find((l) => l.includes('damaged'))!, thing: '5b0b4c1e-8f4f-4f53-9d4e-2d7c0c0a7a11.json' };
    } finally {
      await e.shutdown();
      host.close();
      rmSync(run, { recursive: true, force: true });
    }
  },
  // What status says of the stream when the link ends: QEMU hung up, or sent what broke it.
  EDF_PEER_CLOSED: () => ({ message: linkClosedDetail(Object.assign(new Error('the peer closed the link'), { code: 'EDF_PEER_CLOSED' })).detail, thing: 'display link' }),
  EDF_PEER_PROTOCOL: () => ({ message: linkClosedDetail(caught(() => readHeader(Buffer.from('B'.repeat(16))))).detail, thing: 'display link' }),
  EDF_PEER_HANDLER: () => ({ message: linkClosedDetail(Object.assign(new Error('handling what the peer sent failed: boom'), { code: 'EDF_PEER_HANDLER' })).detail, thing: 'display link' }),
  EDF_BAD_DMABUF_LAYOUT: () => ({ message: linkClosedDetail(caught(() => readDmabuf2([[], 0, 0, 64, 64, [], [], 0, 0x34325258, 64, 64, 0n, true], []))).detail, thing: 'ScanoutDMABUF2' }),
  'io.github.directflip1.Error.InvalidConfig': () => withEngine(async (e) => {
    const c = parseDomainXml(OUT('<df:plane from="primary" console="0"/>').replace("<graphics type='dbus'/>", ''));
    return { message: (await rejected(e.prepare(c))).message, thing: 'directflip/output[1]/plane[1]' };
  }),
  'org.freedesktop.DBus.Error.InvalidArgs': () => withEngine(async (e) => ({ message: (await rejected(e.prepare(kiosk(), 'win11'))).message, thing: 'win11' })),
  'io.github.directflip1.Error.Refused': () => withEngine(async (e, host) => {
    host.sim!.card.takeMaster();
    return { message: (await rejected(e.prepare(kiosk()))).message, thing: '/dev/dri/card0' };
  }),
  'io.github.directflip1.Error.CommitFailed': () => withEngine(async (e, host) => {
    await e.prepare(kiosk());
    for (let i = 0; i < 4; i++) host.sim!.card.failNext('DRM_IOCTL_MODE_ATOMIC', 'EINVAL');
    return { message: (await rejected(e.activate('kiosk-hdmi'))).message, thing: 'kiosk-hdmi' };
  }),
  'io.github.directflip1.Error.NotPrepared': () => withEngine(async (e) => ({ message: (await rejected(e.activate('kiosk-hdmi'))).message, thing: 'kiosk-hdmi' })),
  'io.github.directflip1.Error.Device': () => {
    const host = openHost('sim:gvt-skylake');
    const run = temp();
    try {
      const denied = { ...host, backend: { ...host.backend, openKms: (p: string) => { throw kernelError('EACCES', 'open', p); } } } as unknown as Host;
      return { message: thrown(() => new Engine(denied, new Journal(run), () => undefined)), thing: '/dev/dri/card0' };
    } finally {
      host.close();
      rmSync(run, { recursive: true, force: true });
    }
  },
  'io.github.directflip1.Error.AccessDenied': () => {
    const src = readFileSync(join(REPO, 'src/daemon/service.ts'), 'utf8');
    return { message: /new DaemonError\('AccessDenied', `(directflipd answers only root[^`]+)`/.exec(src)![1], thing: 'uid' };
  },
  'io.github.directflip1.Error.Journal': () => withEngine(async (e, _host, run) => {
    rmSync(join(run, 'domains'), { recursive: true, force: true });
    writeFileSync(join(run, 'domains'), 'not a directory');
    return { message: (await rejected(e.prepare(kiosk()))).message, thing: 'kiosk-hdmi' };
  }),
  'io.github.directflip1.Error.ShuttingDown': () => withEngine(async (e) => {
    await e.shutdown();
    return { message: (await rejected(e.prepare(kiosk()))).message, thing: 'directflipd' };
  }),
};

