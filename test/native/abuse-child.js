'use strict';
// Runs in its own process so a crash in the addon fails the test instead of killing jest.
// Prints one JSON object: what each abuse case did.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadAddon, nativeKmsFromFd, nativeVfioDeviceFromFd } = require('../../dist/src/kernel/native.js');

const out = {};
const outcome = (fn) => {
  try {
    const v = fn();
    return { ok: true, value: typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.length : typeof v };
  } catch (e) {
    return { ok: false, name: e.constructor.name, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message };
  }
};

const a = loadAddon();
out.functions = Object.keys(a).filter((k) => typeof a[k] === 'function').sort();
out.layout = a.vfioLayout;

const nullFd = fs.openSync('/dev/null', 'r+');
const kms = nativeKmsFromFd(nullFd, '/dev/null');
const dev = nativeVfioDeviceFromFd(nullFd, '/dev/null');
const zero = { objectId: 1, propId: 2, value: 0n };
const drmCalls = {
  version: () => kms.version(),
  getCap: () => kms.getCap(1),
  setClientCap: () => kms.setClientCap(3, 1),
  setMaster: () => kms.setMaster(),
  dropMaster: () => kms.dropMaster(),
  getResources: () => kms.getResources(),
  getConnector: () => kms.getConnector(1),
  getEncoder: () => kms.getEncoder(1),
  getCrtc: () => kms.getCrtc(1),
  getPlaneResources: () => kms.getPlaneResources(),
  getPlane: () => kms.getPlane(1),
  objGetProperties: () => kms.objGetProperties(1, 0),
  getProperty: () => kms.getProperty(1),
  getPropBlob: () => kms.getPropBlob(1),
  createPropBlob: () => kms.createPropBlob(Buffer.from('x')),
  destroyPropBlob: () => kms.destroyPropBlob(1),
  atomic: () => kms.atomic([zero], 0x100),
  addFb2: () => kms.addFb2({ width: 1, height: 1, pixelFormat: 0x34325258, flags: 0, handles: [1], pitches: [4], offsets: [0], modifiers: [0n] }),
  rmFb: () => kms.rmFb(1),
  getFb2: () => kms.getFb2(1),
  primeFdToHandle: () => kms.primeFdToHandle(0),
  primeHandleToFd: () => kms.primeHandleToFd(1, 0),
  gemClose: () => kms.gemClose(1),
  createDumb: () => kms.createDumb(1, 1, 32),
  mapDumb: () => kms.mapDumb(1),
  destroyDumb: () => kms.destroyDumb(1),
  createLease: () => kms.createLease([1], 0),
  queryGfxPlane: () => dev.queryGfxPlane(1 | 8, 1),
  getGfxDmabuf: () => dev.getGfxDmabuf(1),
  getInfo: () => dev.getInfo(),
  getRegionInfo: () => dev.getRegionInfo(0),
  getApiVersion: () => a.vfioGetApiVersion(nullFd, '/dev/null'),
  checkExtension: () => a.vfioCheckExtension(nullFd, '/dev/null', 3),
  setIommu: () => a.vfioSetIommu(nullFd, '/dev/null', 3),
  groupGetStatus: () => a.vfioGroupGetStatus(nullFd, '/dev/null'),
  groupSetContainer: () => a.vfioGroupSetContainer(nullFd, '/dev/null', nullFd),
  groupGetDeviceFd: () => a.vfioGroupGetDeviceFd(nullFd, '/dev/null', 'c2177883-f1bb-47f0-914d-32a22e3a8804'),
};
out.devNull = Object.fromEntries(Object.entries(drmCalls).map(([k, f]) => [k, outcome(f)]));
out.readEventsDevNull = outcome(() => kms.readEvents());
out.watchDevNull = outcome(() => kms.watchEvents(() => undefined));
out.mmapDevNull = outcome(() => kms.mmap(0n, 4096));

const asyncResult = kms.atomicAsync([zero], 0x100).then(
  () => ({ ok: true }),
  (e) => ({ ok: false, code: e.code, syscall: e.syscall }),
);

const closedFd = fs.openSync('/dev/null', 'r');
fs.closeSync(closedFd);
const closed = nativeKmsFromFd(closedFd, '/dev/dri/card9');
out.closed = { version: outcome(() => closed.version()), atomic: outcome(() => closed.atomic([], 0)), close: outcome(() => closed.close()) };

out.types = {
  fdString: outcome(() => a.drmVersion('3', '/dev/null')),
  fdNegative: outcome(() => a.drmVersion(-1, '/dev/null')),
  capString: outcome(() => a.drmGetCap(nullFd, '/dev/null', 'ATOMIC')),
  pathNumber: outcome(() => a.drmVersion(nullFd, 7)),
  atomicLengths: outcome(() => a.drmAtomic(nullFd, '', [1, 2], [3], [0n], 0)),
  atomicValueNumber: outcome(() => a.drmAtomic(nullFd, '', [1], [3], [0], 0)),
  modifierNumber: outcome(() => a.drmAddFb2(nullFd, '', 1, 1, 1, 0, [1], [4], [0], [0])),
  offsetNotBigint: outcome(() => a.mmap(nullFd, '', 0, 4096)),
  u32Fraction: outcome(() => a.drmGetCap(nullFd, '', 1.5)),
  noArgs: outcome(() => a.drmVersion()),
  callbackMissing: outcome(() => a.drmWatchEvents(nullFd, '')),
};

// Real memory and a real file: the mmap and pread/pwrite paths themselves.
const zeroFd = fs.openSync('/dev/zero', 'r+');
const map = a.mmap(zeroFd, '/dev/zero', 0n, 8192);
map.fill(7);
out.mmapZero = { length: map.length, sum: map.reduce((s, b) => s + b, 0) };
const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'df-native-')), 'region');
fs.writeFileSync(tmp, Buffer.alloc(1 << 16));
const rfd = fs.openSync(tmp, 'r+');
const region = nativeVfioDeviceFromFd(rfd, tmp);
region.regionWrite(4096n, Buffer.from('directflip'));
out.region = region.regionRead(4096n, 10).toString();
out.regionPastEnd = outcome(() => region.regionRead(BigInt(1 << 16) - 4n, 8));

asyncResult.then((r) => {
  out.atomicAsync = r;
  process.stdout.write(JSON.stringify(out));
});
