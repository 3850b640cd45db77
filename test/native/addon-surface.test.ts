import { closeSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { ADDON_EXPORTS } from '../../src/kernel/addon';
import { loadAddon } from '../../src/kernel/native';

/**
 * src/kernel/addon.ts types every export of the addon, and the compiler holds ADDON_EXPORTS to
 * that interface; this holds the built addon to ADDON_EXPORTS, so neither can drift alone.
 */
describe('the native addon surface', () => {
  const addon = loadAddon() as unknown as Record<string, unknown>;

  test('exports exactly what src/kernel/addon.ts declares, each of the declared kind', () => {
    expect(Object.keys(addon).sort()).toEqual(Object.keys(ADDON_EXPORTS).sort());
    for (const [name, kind] of Object.entries(ADDON_EXPORTS)) expect([name, typeof addon[name]]).toEqual([name, kind]);
  });

  test('munmap swaps a device mapping for anonymous memory: the Buffer stays usable, the file is let go', () => {
    const a = loadAddon();
    const fd = a.memfdCreate('directflip-munmap-test');
    ftruncateSync(fd, 8192);
    const map = a.mmap(fd, 'memfd', 0n, 8192);
    map[0] = 7;
    a.close(fd, 'memfd');
    const mapped = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('directflip-munmap-test')).length;
    expect(mapped()).toBe(1);
    expect(a.munmap(map)).toBe(true);
    expect(mapped()).toBe(0);
    expect(map[0]).toBe(0);
    map[1] = 3;
    expect(a.munmap(map)).toBe(false);
    expect(a.munmap(Buffer.alloc(16))).toBe(false);
  });

  test('drmAtomicOutFence reads its fence object and property, and fails SystemError-shaped on a file that is no DRM device', () => {
    const a = loadAddon();
    const fd = openSync('/dev/null', 'r+');
    try {
      const call = (...fence: unknown[]) => () =>
        (a.drmAtomicOutFence as unknown as (...x: unknown[]) => number)(fd, '/dev/null', [1], [2], [0n], 0, 0n, ...fence);
      expect(call()).toThrow(/fence object id must be a number/);
      expect(call(1, 'x')).toThrow(/fence property id/);
      let err: NodeJS.ErrnoException | undefined;
      try {
        call(1, 3)();
      } catch (e) {
        err = e as NodeJS.ErrnoException;
      }
      expect(err && { code: err.code, errno: err.errno, syscall: err.syscall, path: err.path }).toEqual({ code: 'ENOTTY', errno: -25, syscall: 'DRM_IOCTL_MODE_ATOMIC', path: '/dev/null' });
    } finally {
      closeSync(fd);
    }
  });
});
