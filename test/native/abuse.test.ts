import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures';

// The addon is built by `npm ci`; these run on this machine, which has no DRM and no VFIO.
const r = spawnSync(process.execPath, [join(__dirname, 'abuse-child.js')], { encoding: 'utf8' });

test('abusing the addon never crashes the process', () => {
  expect(r.signal).toBeNull();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

const out = r.status === 0 ? JSON.parse(r.stdout) : {};

test('every ioctl wrapper exists', () => {
  for (const f of ['drmAtomic', 'drmAtomicAsync', 'drmReadEvents', 'drmWatchEvents', 'drmAddFb2', 'drmCreateLease', 'vfioQueryGfxPlane', 'vfioGetGfxDmabuf', 'vfioRegionRead', 'mmap', 'close']) {
    expect(out.functions).toContain(f);
  }
});

test('struct layouts match the UAPI: the gfx plane info is 64 bytes with its union at 56', () => {
  expect(out.layout).toEqual({ gfxPlaneInfoSize: 64, gfxPlaneUnionOffset: 56, gfxPlaneTypeDrmOutOfTree: 8 });
});

const IOCTL_NAMES: Record<string, string> = {
  version: 'DRM_IOCTL_VERSION', getCap: 'DRM_IOCTL_GET_CAP', setClientCap: 'DRM_IOCTL_SET_CLIENT_CAP', setMaster: 'DRM_IOCTL_SET_MASTER',
  dropMaster: 'DRM_IOCTL_DROP_MASTER', getResources: 'DRM_IOCTL_MODE_GETRESOURCES', getConnector: 'DRM_IOCTL_MODE_GETCONNECTOR',
  getEncoder: 'DRM_IOCTL_MODE_GETENCODER', getCrtc: 'DRM_IOCTL_MODE_GETCRTC', getPlaneResources: 'DRM_IOCTL_MODE_GETPLANERESOURCES',
  getPlane: 'DRM_IOCTL_MODE_GETPLANE', objGetProperties: 'DRM_IOCTL_MODE_OBJ_GETPROPERTIES', getProperty: 'DRM_IOCTL_MODE_GETPROPERTY',
  getPropBlob: 'DRM_IOCTL_MODE_GETPROPBLOB', createPropBlob: 'DRM_IOCTL_MODE_CREATEPROPBLOB', destroyPropBlob: 'DRM_IOCTL_MODE_DESTROYPROPBLOB',
  atomic: 'DRM_IOCTL_MODE_ATOMIC', addFb2: 'DRM_IOCTL_MODE_ADDFB2', rmFb: 'DRM_IOCTL_MODE_RMFB', getFb2: 'DRM_IOCTL_MODE_GETFB2',
  primeFdToHandle: 'DRM_IOCTL_PRIME_FD_TO_HANDLE', primeHandleToFd: 'DRM_IOCTL_PRIME_HANDLE_TO_FD', gemClose: 'DRM_IOCTL_GEM_CLOSE',
  createDumb: 'DRM_IOCTL_MODE_CREATE_DUMB', mapDumb: 'DRM_IOCTL_MODE_MAP_DUMB', destroyDumb: 'DRM_IOCTL_MODE_DESTROY_DUMB',
  createLease: 'DRM_IOCTL_MODE_CREATE_LEASE', queryGfxPlane: 'VFIO_DEVICE_QUERY_GFX_PLANE', getGfxDmabuf: 'VFIO_DEVICE_GET_GFX_DMABUF',
  getInfo: 'VFIO_DEVICE_GET_INFO', getRegionInfo: 'VFIO_DEVICE_GET_REGION_INFO', getApiVersion: 'VFIO_GET_API_VERSION',
  checkExtension: 'VFIO_CHECK_EXTENSION', setIommu: 'VFIO_SET_IOMMU', groupGetStatus: 'VFIO_GROUP_GET_STATUS',
  groupSetContainer: 'VFIO_GROUP_SET_CONTAINER', groupGetDeviceFd: 'VFIO_GROUP_GET_DEVICE_FD',
};

test.each(Object.entries(IOCTL_NAMES))('%s on /dev/null is a SystemError: ENOTTY from %s', (call, ioctl) => {
  expect(out.devNull[call]).toMatchObject({ ok: false, code: 'ENOTTY', errno: -25, syscall: ioctl, path: '/dev/null' });
  expect(out.devNull[call].message).toBe(`ENOTTY: ${ioctl} failed /dev/null (Inappropriate ioctl for device)`);
});

test('reading events from a non-DRM fd returns none; polling it or mapping it is a SystemError', () => {
  expect(out.readEventsDevNull).toEqual({ ok: true, value: 0 });
  expect(out.watchDevNull).toMatchObject({ ok: false, syscall: 'poll', code: 'EPERM' });
  expect(out.mmapDevNull).toMatchObject({ ok: false, syscall: 'mmap', code: 'ENODEV' });
  expect(out.atomicAsync).toEqual({ ok: false, code: 'ENOTTY', syscall: 'DRM_IOCTL_MODE_ATOMIC' });
});

test('a closed fd is EBADF with the path given for context', () => {
  expect(out.closed.version).toMatchObject({ code: 'EBADF', syscall: 'DRM_IOCTL_VERSION', path: '/dev/dri/card9' });
  expect(out.closed.atomic).toMatchObject({ code: 'EBADF', syscall: 'DRM_IOCTL_MODE_ATOMIC' });
  expect(out.closed.close).toMatchObject({ code: 'EBADF', syscall: 'close' });
});

test.each(['fdString', 'fdNegative', 'capString', 'pathNumber', 'atomicLengths', 'atomicValueNumber', 'modifierNumber', 'offsetNotBigint', 'u32Fraction', 'noArgs', 'callbackMissing'])(
  'wrong argument types are a TypeError: %s',
  (k) => {
    expect(out.types[k]).toMatchObject({ ok: false, name: 'TypeError' });
    expect(out.types[k].message).toMatch(/argument|must/);
  },
);

test('mmap gives a writable Buffer over real memory; pread/pwrite reach the offset asked for', () => {
  expect(out.mmapZero).toEqual({ length: 8192, sum: 7 * 8192 });
  expect(out.region).toBe('directflip');
  expect(out.regionPastEnd).toMatchObject({ ok: false, code: 'EIO', syscall: 'pread' });
});

test('the native layer stays thin: under 1500 lines, and no path strings beyond error context', () => {
  const dir = join(REPO, 'native');
  const files = readdirSync(dir);
  const lines = files.reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').split('\n').length, 0);
  expect(lines).toBeLessThan(1500);
  for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).not.toMatch(/"\/(dev|sys|run|etc)\//);
});
