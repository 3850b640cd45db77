import fc from 'fast-check';
import { isDrmHotplug, parseUevent } from '../../src/kernel/uevents';

const msg = (...parts: string[]) => Buffer.from(`${parts.join('\0')}\0`, 'latin1');

describe('kernel uevents', () => {
  test('a connector hotplug as drm_sysfs_connector_hotplug_event sends it', () => {
    const u = parseUevent(msg('change@/devices/pci0000:00/0000:00:02.0/drm/card0', 'ACTION=change', 'DEVPATH=/devices/pci0000:00/0000:00:02.0/drm/card0',
      'SUBSYSTEM=drm', 'HOTPLUG=1', 'CONNECTOR=95', 'DEVNAME=dri/card0', 'DEVTYPE=drm_minor', 'SEQNUM=4242', 'MAJOR=226', 'MINOR=0'));
    expect(u).toMatchObject({ action: 'change', subsystem: 'drm', env: { CONNECTOR: '95', HOTPLUG: '1' } });
    expect(isDrmHotplug(u!, 0)).toBe(true);
    expect(isDrmHotplug(u!, 1)).toBe(false);
  });

  test('other subsystems, other actions and a missing HOTPLUG are not hotplugs', () => {
    expect(isDrmHotplug(parseUevent(msg('change@/devices/virtual/mem/null', 'ACTION=change', 'SUBSYSTEM=mem'))!)).toBe(false);
    expect(isDrmHotplug(parseUevent(msg('add@/devices/x/drm/card0', 'ACTION=add', 'SUBSYSTEM=drm', 'HOTPLUG=1'))!)).toBe(false);
    expect(isDrmHotplug(parseUevent(msg('change@/devices/x/drm/card0', 'ACTION=change', 'SUBSYSTEM=drm'))!)).toBe(false);
  });

  test('garbage never throws: it parses to null or to a record', () => {
    expect(parseUevent(Buffer.alloc(0))).toBeNull();
    expect(parseUevent(Buffer.from('no header here'))).toBeNull();
    expect(parseUevent(Buffer.alloc(9000, 0x41))).toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
      const u = parseUevent(Buffer.from(bytes));
      return u === null || (typeof u.action === 'string' && typeof u.env === 'object');
    }), { seed: 0x75e7, numRuns: 500 });
  });

  test('a key named __proto__ is only a key', () => {
    const u = parseUevent(msg('change@/x', '__proto__=1', 'SUBSYSTEM=drm'))!;
    expect(u.env.__proto__).toBe('1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
