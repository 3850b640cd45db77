import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { readTopology } from '../../src/kernel/topology';
import type { Uevent } from '../../src/kernel/types';
import { errOf } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

/** Unplug, replug, link-status and DRM master taken away, as the kernel presents them. */

const nextTick = () => new Promise((r) => setImmediate(r));

test('unplug and replug: the status changes, the routing stays, and a HOTPLUG uevent names the connector', async () => {
  const { host, dev } = simKms('gvt-skylake');
  const events: Uevent[] = [];
  const stop = host.watchUevents((e) => events.push(e));
  const failures: string[] = [];
  host.watchUevents(() => {
    throw new Error('a listener that fails');
  }, (e) => failures.push(e.message));
  const hdmi = readTopology(dev).connectors.find((c) => c.name === 'HDMI-A-1')!;
  host.card.hotplug('HDMI-A-1', false);
  expect(events).toEqual([]); // delivered later, as a netlink socket does
  await nextTick();
  expect(events).toHaveLength(1);
  expect(failures).toEqual(['a listener that fails']); // told to its own onError, nobody else disturbed
  expect(events[0]).toMatchObject({ action: 'change', subsystem: 'drm', devpath: expect.stringMatching(/\/drm\/card0$/) });
  expect(events[0].env).toMatchObject({ HOTPLUG: '1', CONNECTOR: String(hdmi.id), DEVNAME: 'dri/card0', SUBSYSTEM: 'drm' });
  const gone = dev.getConnector(hdmi.id);
  expect([gone.connection, gone.modes]).toEqual([2, []]);
  expect(readTopology(dev).connectors.find((c) => c.name === 'HDMI-A-1')!.crtcId).toBe(hdmi.crtcId);
  host.card.hotplug('HDMI-A-1', false); // no change, no event
  host.card.hotplug('HDMI-A-1', true);
  await nextTick();
  expect(events.map((e) => e.env.CONNECTOR)).toEqual([String(hdmi.id), String(hdmi.id)]);
  expect(Number(events[1].env.SEQNUM)).toBeGreaterThan(Number(events[0].env.SEQNUM));
  expect(dev.getConnector(hdmi.id).modes.length).toBeGreaterThan(0);
  stop();
  host.card.hotplug('HDMI-A-1', false);
  await nextTick();
  expect(events).toHaveLength(2);
  expect(() => host.card.hotplug('HDMI-A-9', false)).toThrow(/no connector HDMI-A-9/);
});

test('link-status Bad: a uevent with the property; only a modeset that sets Good retrains, userspace cannot set Bad', async () => {
  const { host, dev, f } = simKms('gvt-skylake');
  const events: Uevent[] = [];
  host.watchUevents((e) => events.push(e));
  const link = f.conn.props['link-status'];
  host.card.setLinkStatus(f.conn.name, false);
  await nextTick();
  expect(events[0].env).toMatchObject({ HOTPLUG: '1', CONNECTOR: String(f.conn.id), PROPERTY: String(link.id) });
  const value = () => readTopology(dev).connectors.find((c) => c.id === f.conn.id)!.props['link-status'].value;
  expect(value()).toBe(1n);
  const good = [{ objectId: f.conn.id, propId: link.id, value: 0n }];
  const e = errOf(() => dev.atomic(good, 0));
  expect([e.code, e.message]).toEqual(['EINVAL', expect.stringMatching(/needs full modeset/)]);
  dev.atomic(good, DRM_MODE_ATOMIC.ALLOW_MODESET);
  expect(value()).toBe(0n);
  dev.atomic([{ objectId: f.conn.id, propId: link.id, value: 1n }], DRM_MODE_ATOMIC.ALLOW_MODESET);
  expect(value()).toBe(0n); // never downgraded on userspace's word
});

test('master taken by another file: ATOMIC is EACCES and SET_MASTER EBUSY until it is given back', () => {
  const { host, dev, f } = simKms('vkms');
  const { fb } = f.makeFb();
  const flip = () => dev.atomic(f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.ALLOW_MODESET);
  host.card.takeMaster();
  expect(errOf(flip).code).toBe('EACCES');
  expect(errOf(() => dev.atomic([], DRM_MODE_ATOMIC.TEST_ONLY)).code).toBe('EACCES');
  expect(errOf(() => dev.setMaster()).code).toBe('EBUSY');
  expect(() => host.card.takeMaster()).toThrow(/already taken/);
  host.card.returnMaster();
  expect(errOf(flip).code).toBe('EACCES'); // nobody is master now: ask for it
  dev.setMaster();
  flip();
  expect(dev.getPlane(f.primary.id).fbId).toBe(fb);
  expect(() => host.card.returnMaster()).toThrow(/no other file/);
});
