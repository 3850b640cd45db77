/**
 * Uevents and connector status on a real kernel. Forcing vkms's connector through sysfs
 * (drm_sysfs.c status_store) changes what GETCONNECTOR reports, but sends no HOTPLUG uevent on
 * 6.1: vkms never calls drm_kms_helper_poll_init, so the probe helper's delayed event has no poll
 * work to fire it (i915 has). The card's own `uevent` attribute makes the kernel send a real
 * KOBJ_CHANGE for the card, which proves the netlink path end to end: kernel-sent, parsed, ours.
 */
import { basename } from 'node:path';
import { loadAddon } from '../../src/kernel/native';
import { isDrmHotplug, parseUevent } from '../../src/kernel/uevents';
import type { ParsedUevent } from '../../src/kernel/uevents';
import { readTopology } from '../../src/kernel/topology';
import { cardOf, native, sysfsWrite } from './guest';

async function cardEventsWithin(fd: number, minor: number, ms: number, match: (u: ParsedUevent) => boolean): Promise<ParsedUevent[]> {
  const a = loadAddon();
  const seen: ParsedUevent[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until && seen.length === 0) {
    await new Promise((r) => setTimeout(r, 20));
    for (const m of a.ueventRead(fd).messages) {
      const u = parseUevent(m);
      if (u && u.subsystem === 'drm' && u.env.MINOR === String(minor) && match(u)) seen.push(u);
    }
  }
  return seen;
}

describe('uevents on vkms', () => {
  test("forcing the connector off and back: GETCONNECTOR follows; the card's change uevent reaches the socket", async () => {
    const card = cardOf('vkms');
    const minor = Number(basename(card).slice(4));
    const dev = native().openKms(card);
    const a = loadAddon();
    const fd = a.ueventOpen();
    try {
      const conn = readTopology(dev).connectors.find((c) => !c.writeback)!;
      const status = `/sys/class/drm/${basename(card)}-${conn.name}/status`;
      sysfsWrite(status, 'off');
      expect(dev.getConnector(conn.id).connection).toBe(2);
      sysfsWrite(status, 'detect');
      expect(dev.getConnector(conn.id).connection).toBe(1);
      sysfsWrite(`/sys/class/drm/${basename(card)}/uevent`, 'change');
      const got = await cardEventsWithin(fd, minor, 5000, (u) => u.action === 'change');
      expect(got.length).toBeGreaterThan(0);
      expect(got[0].devpath).toMatch(new RegExp(`/drm/${basename(card)}$`));
      expect(a.ueventRead(fd).foreign).toBe(0);
      // Not a hotplug: the daemon's reaction to HOTPLUG=1 is proven on the simulator.
      expect(isDrmHotplug(got[0], minor)).toBe(false);
    } finally {
      a.close(fd, 'netlink');
      dev.close();
    }
  });
});
