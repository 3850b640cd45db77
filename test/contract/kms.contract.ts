import { DRM_CLIENT_CAP, DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, DRM_MODE_OBJECT, DRM_FORMAT } from '../../src/kernel/constants';
import type { KernelError } from '../../src/kernel/errors';
import { readTopology } from '../../src/kernel/topology';
import type { Topology } from '../../src/kernel/topology';
import type { AtomicProp, KmsDevice } from '../../src/kernel/types';

/**
 * What any kernel's DRM/KMS surface must do, asserted through KmsDevice only. It runs on the
 * simulator here and against the real addon on vkms in the kernel lane, so every assertion
 * holds for vkms (1 CRTC, linear buffers, a primary that must cover the CRTC).
 */
export interface KmsBackend {
  /** A new file on the card; the first one opened is master. */
  open(): KmsDevice;
  /** Advances the display by one vblank (the simulator's control; real hardware just waits). */
  vblank(): Promise<void>;
  close(): void;
}

export function errOf(fn: () => unknown): KernelError {
  try {
    fn();
  } catch (e) {
    return e as KernelError;
  }
  throw new Error('expected the call to fail');
}

/** Everything a simple commit needs: a dumb fb, the active CRTC, its connector and primary. */
export function fixture(dev: KmsDevice) {
  dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const t: Topology = readTopology(dev);
  const conn = t.connectors.find((c) => c.status === 'connected' && !c.writeback && c.modes.length)!;
  const crtc = t.crtcs.find((c) => c.id === conn.crtcId) ?? t.crtcs.find((c) => conn.possibleCrtcs.includes(c.id))!;
  const mode = crtc.mode ?? conn.modes[0];
  const primary = t.planes.find((p) => p.type === 'primary' && p.possibleCrtcs.includes(crtc.id))!;
  const overlay = t.planes.find((p) => p.type === 'overlay' && p.possibleCrtcs.includes(crtc.id));
  const pid = (o: { props: Record<string, { id: number }> }, n: string) => o.props[n].id;
  const makeFb = (w = mode.hdisplay, h = mode.vdisplay, format: number = DRM_FORMAT.XRGB8888) => {
    const d = dev.createDumb(w, h, 32);
    const fb = dev.addFb2({ width: w, height: h, pixelFormat: format, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
    return { fb, dumb: d };
  };
  const planeProps = (plane: { id: number; props: Record<string, { id: number }> }, fb: number, w: number, h: number, x = 0, y = 0): AtomicProp[] => [
    { objectId: plane.id, propId: pid(plane, 'FB_ID'), value: BigInt(fb) },
    { objectId: plane.id, propId: pid(plane, 'CRTC_ID'), value: BigInt(crtc.id) },
    { objectId: plane.id, propId: pid(plane, 'SRC_X'), value: 0n },
    { objectId: plane.id, propId: pid(plane, 'SRC_Y'), value: 0n },
    { objectId: plane.id, propId: pid(plane, 'SRC_W'), value: BigInt(w) << 16n },
    { objectId: plane.id, propId: pid(plane, 'SRC_H'), value: BigInt(h) << 16n },
    { objectId: plane.id, propId: pid(plane, 'CRTC_X'), value: BigInt.asUintN(64, BigInt(x)) },
    { objectId: plane.id, propId: pid(plane, 'CRTC_Y'), value: BigInt.asUintN(64, BigInt(y)) },
    { objectId: plane.id, propId: pid(plane, 'CRTC_W'), value: BigInt(w) },
    { objectId: plane.id, propId: pid(plane, 'CRTC_H'), value: BigInt(h) },
  ];
  return { t, conn, crtc, mode, primary, overlay, makeFb, planeProps, pid };
}

export function kmsContract(name: string, make: () => KmsBackend): void {
  describe(`KMS contract: ${name}`, () => {
    let be: KmsBackend;
    let dev: KmsDevice;
    beforeEach(() => {
      be = make();
      dev = be.open();
    });
    afterEach(() => be.close());

    test('VERSION names the driver', () => {
      const v = dev.version();
      expect(v.name.length).toBeGreaterThan(0);
      expect(v.major).toBeGreaterThanOrEqual(1);
    });

    test('the topology has a connected output and a primary plane for it', () => {
      const f = fixture(dev);
      expect(f.conn.name).toMatch(/^[A-Za-z-]+-\d+$/);
      expect(f.primary.formats).toContain(DRM_FORMAT.XRGB8888);
      expect(f.primary.modifiers.get(DRM_FORMAT.XRGB8888)).toContain(0n);
    });

    test('primary and cursor planes are hidden without UNIVERSAL_PLANES', () => {
      const hidden = dev.getPlaneResources();
      dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 1);
      const all = dev.getPlaneResources();
      expect(all.length).toBeGreaterThan(hidden.length);
    });

    // drm_mode_atomic_ioctl(): EOPNOTSUPP is for drivers without DRIVER_ATOMIC; an atomic driver
    // answers a client without the cap with EINVAL.
    test('ATOMIC without the client cap is refused with EINVAL', () => {
      expect(errOf(() => dev.atomic([], DRM_MODE_ATOMIC.TEST_ONLY)).code).toBe('EINVAL');
    });

    test('ATOMIC from a second file that is not master is refused with EACCES', () => {
      const other = be.open();
      other.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
      const e = errOf(() => other.atomic([], DRM_MODE_ATOMIC.TEST_ONLY));
      expect(e.code).toBe('EACCES');
      expect(e.syscall).toBe('DRM_IOCTL_MODE_ATOMIC');
      expect(errOf(() => other.setMaster()).code).toBe('EBUSY');
      other.close();
    });

    test('DROP_MASTER when not master is EINVAL; dropping lets another become master', () => {
      const other = be.open();
      expect(errOf(() => other.dropMaster()).code).toBe('EINVAL');
      dev.dropMaster();
      other.setMaster();
      other.dropMaster();
      other.close();
      dev.setMaster();
    });

    test('PAGE_FLIP_EVENT on a commit that names no CRTC is EINVAL', () => {
      dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
      expect(errOf(() => dev.atomic([], DRM_MODE_ATOMIC.PAGE_FLIP_EVENT | DRM_MODE_ATOMIC.NONBLOCK)).code).toBe('EINVAL');
    });

    test('TEST_ONLY with PAGE_FLIP_EVENT is EINVAL', () => {
      fixture(dev);
      expect(errOf(() => dev.atomic([], DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT)).code).toBe('EINVAL');
    });

    test('FB_ID without CRTC_ID is EINVAL', () => {
      const f = fixture(dev);
      const { fb } = f.makeFb();
      const props = f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay).filter((p) => p.propId !== f.pid(f.primary, 'CRTC_ID'));
      props.push({ objectId: f.primary.id, propId: f.pid(f.primary, 'CRTC_ID'), value: 0n });
      expect(errOf(() => dev.atomic(props, DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.ALLOW_MODESET)).code).toBe('EINVAL');
    });

    test('an unknown object is ENOENT', () => {
      fixture(dev);
      expect(errOf(() => dev.atomic([{ objectId: 0x7ffffff0, propId: 1, value: 0n }], DRM_MODE_ATOMIC.TEST_ONLY)).code).toBe('ENOENT');
    });

    test('a source rectangle outside the fb is ENOSPC', () => {
      const f = fixture(dev);
      const { fb } = f.makeFb(64, 64);
      const props = f.planeProps(f.overlay ?? f.primary, fb, 64, 64).map((p) => (p.propId === f.pid(f.primary, 'SRC_W') ? { ...p, value: 65n << 16n } : p));
      expect(errOf(() => dev.atomic(props, DRM_MODE_ATOMIC.TEST_ONLY)).code).toBe('ENOSPC');
    });

    test('a full-screen primary passes TEST_ONLY and changes nothing', () => {
      const f = fixture(dev);
      const { fb } = f.makeFb();
      const before = dev.getPlane(f.primary.id);
      dev.atomic(f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.ALLOW_MODESET);
      expect(dev.getPlane(f.primary.id)).toEqual(before);
    });

    test('a committed flip is shown and completes with one event carrying the user data', async () => {
      const f = fixture(dev);
      const { fb } = f.makeFb();
      dev.atomic(f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, 0x1234n);
      expect(dev.getPlane(f.primary.id).fbId).toBe(fb);
      let events = dev.readEvents();
      for (let i = 0; i < 50 && events.length === 0; i++) {
        await be.vblank();
        events = dev.readEvents();
      }
      expect(events).toHaveLength(1);
      expect(events[0].userData).toBe(0x1234n);
      expect(events[0].crtcId).toBe(f.crtc.id);
      await be.vblank();
      expect(dev.readEvents()).toEqual([]);
    });

    // atomic_remove_fb(): the planes are disabled by a commit of their own; the CRTC stays on
    // with its mode unless the driver refuses a CRTC without its primary (neither i915 nor vkms).
    test('closing the file removes its fbs and disables the planes that showed them', () => {
      const f = fixture(dev);
      const other = be.open();
      const { fb } = f.makeFb();
      dev.atomic(f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.ALLOW_MODESET);
      const modeBefore = dev.getCrtc(f.crtc.id).mode;
      dev.close();
      const p = other.getPlane(f.primary.id);
      expect(p.fbId).toBe(0);
      expect(p.crtcId).toBe(0);
      expect(other.getCrtc(f.crtc.id).mode).toEqual(modeBefore);
      expect(errOf(() => other.getFb2(fb)).code).toBe('ENOENT');
      other.close();
      dev = be.open();
    });

    test('a live mapping keeps the closed file, its master and its fbs; munmap lets them go', () => {
      const f = fixture(dev);
      const other = be.open();
      const { fb, dumb } = f.makeFb();
      dev.atomic(f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay), DRM_MODE_ATOMIC.ALLOW_MODESET);
      const map = dev.mmap(dev.mapDumb(dumb.handle), dumb.size);
      dev.close();
      expect(other.getPlane(f.primary.id).fbId).toBe(fb);
      expect(errOf(() => other.setMaster()).code).toBe('EBUSY');
      dev.munmap(map);
      expect(errOf(() => dev.munmap(map)).code).toBe('EINVAL');
      expect(other.getPlane(f.primary.id).fbId).not.toBe(fb);
      other.setMaster();
      other.dropMaster();
      other.close();
      dev = be.open();
    });

    test('property blobs round-trip; only the creator may destroy one', () => {
      const id = dev.createPropBlob(Buffer.from('directflip'));
      expect(dev.getPropBlob(id).toString()).toBe('directflip');
      const other = be.open();
      expect(errOf(() => other.destroyPropBlob(id)).code).toBe('EPERM');
      other.close();
      dev.destroyPropBlob(id);
      expect(errOf(() => dev.getPropBlob(id)).code).toBe('ENOENT');
    });

    test('ADDFB2 refuses a pitch too small for the width', () => {
      const d = dev.createDumb(64, 64, 32);
      const e = errOf(() => dev.addFb2({ width: 64, height: 64, pixelFormat: DRM_FORMAT.XRGB8888, flags: 0, handles: [d.handle], pitches: [64], offsets: [0], modifiers: [0n] }));
      expect(e.code).toBe('EINVAL');
      expect(e.syscall).toBe('DRM_IOCTL_MODE_ADDFB2');
    });

    test('RMFB of an fb this file did not create is ENOENT', () => {
      const f = fixture(dev);
      expect(errOf(() => dev.rmFb(f.crtc.fbId || 0x7ffffff0)).code).toBe('ENOENT');
    });

    // __drm_mode_object_add(): idr_alloc(object_idr, 1, 0) gives the lowest free id, so a removed
    // fb's id is free for the next object: ids are not unique over time, only while alive.
    test('an fb id is reused after RMFB: the next object gets the lowest free id', () => {
      const f = fixture(dev);
      const a = f.makeFb(64, 64).fb;
      dev.rmFb(a);
      const b = f.makeFb(64, 64).fb;
      expect(b).toBeLessThanOrEqual(a);
    });

    test('a dumb buffer maps, and what is written is what the fb holds', () => {
      const d = dev.createDumb(16, 16, 32);
      const map = dev.mmap(dev.mapDumb(d.handle), d.size);
      map.fill(0x5a);
      expect(map.length).toBe(d.size);
      dev.destroyDumb(d.handle);
      expect(errOf(() => dev.destroyDumb(d.handle)).code).toBe('EINVAL');
    });

    test('OBJ_GETPROPERTIES hides atomic properties from non-atomic clients', () => {
      dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 1);
      const plane = dev.getPlaneResources()[0];
      const legacy = dev.objGetProperties(plane, DRM_MODE_OBJECT.PLANE).props.map((p) => dev.getProperty(p).name);
      dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
      const atomic = dev.objGetProperties(plane, DRM_MODE_OBJECT.PLANE).props.map((p) => dev.getProperty(p).name);
      expect(legacy).not.toContain('FB_ID');
      expect(atomic).toEqual(expect.arrayContaining(['FB_ID', 'CRTC_ID', 'SRC_X', 'CRTC_W', 'type']));
    });

    // drm_setclientcap(): ATOMIC takes 0..2, the others 0..1, and WRITEBACK_CONNECTORS needs ATOMIC.
    test('SET_CLIENT_CAP refuses values and orders no kernel accepts', () => {
      expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.WRITEBACK_CONNECTORS, 1)).code).toBe('EINVAL');
      expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.UNIVERSAL_PLANES, 2)).code).toBe('EINVAL');
      expect(errOf(() => dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 3)).code).toBe('EINVAL');
      expect(errOf(() => dev.setClientCap(0x7f, 1)).code).toBe('EINVAL');
    });

    test('GET_CAP: monotonic timestamps on every KMS driver, EINVAL for an unknown cap', () => {
      expect(dev.getCap(0x6)).toBe(1n); // DRM_CAP_TIMESTAMP_MONOTONIC
      expect(errOf(() => dev.getCap(0x7f)).code).toBe('EINVAL');
    });

    test('GEM handles: MAP_DUMB of an unknown handle is ENOENT, GEM_CLOSE of one EINVAL', () => {
      expect(errOf(() => dev.mapDumb(0x7ffff)).code).toBe('ENOENT');
      expect(errOf(() => dev.gemClose(0x7ffff)).code).toBe('EINVAL');
      const d = dev.createDumb(64, 64, 32);
      expect(d.pitch).toBeGreaterThanOrEqual(256);
      expect(d.size).toBeGreaterThanOrEqual(d.pitch * 64);
      dev.gemClose(d.handle);
      expect(errOf(() => dev.mapDumb(d.handle)).code).toBe('ENOENT');
    });

    // drm_mode_getfb2_ioctl() → drm_gem_handle_create(): a new handle per call, numbered by
    // idr_alloc(object_idr, 1, 0), the lowest free id. So a handle number that keeps growing is a
    // leak, and closing every one brings the same number back.
    test('GETFB2 gives the master a new GEM handle on every call; closing them keeps the count flat', () => {
      const f = fixture(dev);
      const { fb, dumb } = f.makeFb(64, 64);
      const a = dev.getFb2(fb).handles[0];
      const b = dev.getFb2(fb).handles[0];
      expect([a, b].every((h) => h > 0 && h !== dumb.handle)).toBe(true);
      expect(b).not.toBe(a);
      dev.gemClose(b);
      dev.gemClose(a);
      expect(errOf(() => dev.gemClose(a)).code).toBe('EINVAL');
      const first = dev.getFb2(fb).handles[0];
      expect(first).toBe(Math.min(a, b));
      dev.gemClose(first);
      for (let i = 0; i < 100; i++) dev.gemClose(dev.getFb2(fb).handles[0]);
      const after = dev.getFb2(fb).handles[0];
      expect(after).toBe(first);
      dev.gemClose(after);
      // A kernel fb (fbcon's, on the active CRTC) is no different: a new handle to close.
      if (f.crtc.fbId) {
        const h = dev.getFb2(f.crtc.fbId).handles[0];
        expect(h).toBe(first);
        dev.gemClose(h);
      }
    });

    test('every encoder can clone itself (drm_mode_config_validate), and IN_FORMATS lists the plane formats', () => {
      const t = fixture(dev).t;
      t.encoders.forEach((e, i) => expect(dev.getEncoder(e.id).possibleClones & (1 << i)).toBe(1 << i));
      for (const p of t.planes) {
        if (!p.props.IN_FORMATS) continue;
        const blob = dev.getPropBlob(Number(p.props.IN_FORMATS.value));
        expect(blob.readUInt32LE(0)).toBe(1); // FORMAT_BLOB_CURRENT
        expect([...p.modifiers.keys()]).toEqual(p.formats);
      }
    });

    test('TEST_ONLY | NONBLOCK does not wait for a pending flip', () => {
      const f = fixture(dev);
      const a = f.makeFb().fb;
      const full = (fb: number) => f.planeProps(f.primary, fb, f.mode.hdisplay, f.mode.vdisplay);
      dev.atomic(full(a), DRM_MODE_ATOMIC.NONBLOCK | DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, 1n);
      expect(() => dev.atomic(full(f.makeFb().fb), DRM_MODE_ATOMIC.TEST_ONLY | DRM_MODE_ATOMIC.NONBLOCK)).not.toThrow();
    });

    test('a closed device answers EBADF', () => {
      dev.close();
      expect(errOf(() => dev.version()).code).toBe('EBADF');
      dev = be.open();
    });
  });
}
