import { DOMParser } from '@xmldom/xmldom';
import * as dbus from 'dbus-next';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus } from '../../src/daemon/connect';
import { BUS_NAME, OBJECT_PATH, SIMULATOR_IFACE } from '../../src/daemon/names';
import { SIM_CONTROL_SPECS } from '../../src/daemon/sim-controls';
import type { SavedKernel } from '../../src/kernel/sim/kms-persist';
import type { DaemonProc } from '../helpers/bus';
import { startBus, startDaemon } from '../helpers/bus';

/**
 * io.github.directflip1.Simulator's fault controls on a real daemon process and dbus-daemon: each
 * lands in the simulated kernel, where a real host's hardware would put it (the connector's
 * sysfs status, the kernel's own state), and bad calls get named D-Bus errors.
 */

let bus: ReturnType<typeof startBus>;
let root: string;
let daemon: DaemonProc | undefined;
let client: dbus.MessageBus;

beforeAll(async () => {
  bus = startBus();
  root = mkdtempSync(join(tmpdir(), 'directflip-simctl-'));
  daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  client = await connectBus(bus.address, 5000);
});
afterAll(async () => {
  client?.disconnect();
  await daemon?.stop();
  bus.stop();
  rmSync(root, { recursive: true, force: true });
});

async function call(member: string, signature: string, body: unknown[]): Promise<string> {
  try {
    await client.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member, signature, body }));
    return 'ok';
  } catch (e) {
    return (e as { type?: string }).type ?? String(e);
  }
}

const status = (c: string) => readFileSync(join(root, 'sys/class/drm', `card0-${c}`, 'status'), 'utf8').trim();
const kernel = () => JSON.parse(readFileSync(join(root, 'sim-kernel/state.json'), 'utf8')) as SavedKernel;

test('the XML documents exactly the controls the daemon serves', () => {
  const xml = readFileSync(join(__dirname, '../../src/daemon/io.github.directflip1.Simulator.xml'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const methods = Array.from(doc.getElementsByTagName('method')).map((m) => {
    const args = Array.from(m.getElementsByTagName('arg'));
    const ins = args.filter((a) => a.getAttribute('direction') === 'in');
    return { member: m.getAttribute('name'), in: ins.map((a) => a.getAttribute('type')).join(''), inNames: ins.map((a) => a.getAttribute('name')) };
  });
  expect(methods.filter((m) => m.member !== 'Screenshot')).toEqual(SIM_CONTROL_SPECS.map((s) => ({ member: s.member, in: s.in, inNames: s.inNames })));
});

test('Unplug and Replug change what the connector\'s sysfs says; an unknown connector is InvalidArgs', async () => {
  expect(status('HDMI-A-1')).toBe('connected');
  expect(await call('Unplug', 's', ['HDMI-A-1'])).toBe('ok');
  expect(status('HDMI-A-1')).toBe('disconnected');
  const hdmi = (k: SavedKernel) => k.connectors.find(([id]) => id === kernelId(k, 'HDMI-A-1'))![1];
  expect(hdmi(kernel())).toBe(2);
  expect(await call('Replug', 's', ['HDMI-A-1'])).toBe('ok');
  expect(status('HDMI-A-1')).toBe('connected');
  expect(await call('Unplug', 's', ['HDMI-A-9'])).toBe('org.freedesktop.DBus.Error.InvalidArgs');
  expect(await call('Unplug', '', [])).toBe('org.freedesktop.DBus.Error.InvalidArgs');
});

test('SetLinkStatus sets the connector\'s link-status in the kernel; only good and bad are statuses', async () => {
  expect(await call('SetLinkStatus', 'ss', ['HDMI-A-1', 'bad'])).toBe('ok');
  const link = () => {
    const k = kernel();
    return k.props.find(([id]) => id === kernelId(k, 'HDMI-A-1'))![1].find(([n]) => n === 'link-status')![1];
  };
  expect(link()).toBe('1');
  expect(await call('SetLinkStatus', 'ss', ['HDMI-A-1', 'meh'])).toBe('org.freedesktop.DBus.Error.InvalidArgs');
  expect(await call('SetLinkStatus', 'ss', ['HDMI-A-1', 'good'])).toBe('ok');
  expect(link()).toBe('0');
});

test('TakeMaster and ReturnMaster pair up; out of order is Refused', async () => {
  expect(await call('ReturnMaster', '', [])).toBe('io.github.directflip1.Error.Refused');
  expect(await call('TakeMaster', '', [])).toBe('ok');
  expect(await call('TakeMaster', '', [])).toBe('io.github.directflip1.Error.Refused');
  expect(await call('ReturnMaster', '', [])).toBe('ok');
});

/** The connector's object id: HDMI-A-1 is the second connector of the gvt-skylake card. */
function kernelId(k: SavedKernel, name: string): number {
  const order = ['eDP-1', 'HDMI-A-1', 'DP-1'];
  return k.connectors[order.indexOf(name)][0];
}
