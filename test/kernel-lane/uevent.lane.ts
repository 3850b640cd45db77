/**
 * Hotplug on a real kernel: forcing vkms's connector off and back through sysfs (drm_sysfs.c
 * status_store → drm_kms_helper_hotplug_event) must reach the addon's uevent socket as a DRM
 * HOTPLUG=1 change for that card, and GETCONNECTOR must then say what the monitor is.
 */
import { basename } from 'node:path';
import { loadAddon } from '../../src/kernel/native';
import { isDrmHotplug, parseUevent } from '../../src/kernel/uevents';
import type { ParsedUevent } from '../../src/kernel/uevents';
import { readTopology } from '../../src/kernel/topology';
import { cardOf, native, sysfsWrite } from './guest';

async function hotplugsWithin(fd: number, minor: number, ms: number): Promise<ParsedUevent[]> {
  const a = loadAddon();
  const seen: ParsedUevent[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until && seen.length === 0) {
    await new Promise((r) => setTimeout(r, 20));
    for (const m of a.ueventRead(fd).messages) {
      const u = parseUevent(m);
      if (u && isDrmHotplug(u, minor)) seen.push(u);
    }
  }
  return seen;
}

describe('uevents on vkms', () => {
  test('forcing the connector off and back sends HOTPLUG uevents, and GETCONNECTOR follows', async () => {
    const card = cardOf('vkms');
    const minor = Number(basename(card).slice(4));
    const dev = native().openKms(card);
    const a = loadAddon();
    const fd = a.ueventOpen();
    try {
      const conn = readTopology(dev).connectors.find((c) => !c.writeback)!;
      const status = `/sys/class/drm/${basename(card)}-${conn.name}/status`;
      sysfsWrite(status, 'off');
      expect((await hotplugsWithin(fd, minor, 5000)).length).toBeGreaterThan(0);
      expect(dev.getConnector(conn.id).connection).toBe(2);
      sysfsWrite(status, 'detect');
      expect((await hotplugsWithin(fd, minor, 5000)).length).toBeGreaterThan(0);
      expect(dev.getConnector(conn.id).connection).toBe(1);
    } finally {
      a.close(fd, 'netlink');
      dev.close();
    }
  });
});
