import { createHash } from 'node:crypto';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { SimHost } from '../../src/kernel/sim/host';
import { loadProfile } from '../../src/kernel/sim/load-profile';
import { cloneState } from '../../src/kernel/sim/kms-objects';
import { fixture } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

const { TEST_ONLY, NONBLOCK, PAGE_FLIP_EVENT, ALLOW_MODESET } = DRM_MODE_ATOMIC;

test('one commit on two CRTCs gives one event per CRTC, on the next vblank, and no more', () => {
  const { dev, f, host } = simKms('gvt-skylake');
  const [a, b] = f.t.crtcs;
  const primaryOf = (crtcId: number) => f.t.planes.find((p) => p.type === 'primary' && p.crtcId === crtcId)!;
  const onB = (props: ReturnType<typeof f.planeProps>) => props.map((p) => (p.propId === f.pid(primaryOf(b.id), 'CRTC_ID') ? { ...p, value: BigInt(b.id) } : p));
  const fbA = f.makeFb().fb;
  const fbB = f.makeFb().fb;
  dev.atomic([...f.planeProps(primaryOf(a.id), fbA, 1920, 1080), ...onB(f.planeProps(primaryOf(b.id), fbB, 1920, 1080))], NONBLOCK | PAGE_FLIP_EVENT, 42n);
  expect(dev.readEvents()).toEqual([]);
  host.card.advanceVblank();
  const ev = dev.readEvents();
  expect(ev.map((e) => [e.crtcId, e.userData]).sort()).toEqual([[a.id, 42n], [b.id, 42n]].sort());
  expect(ev[0].sequence).toBe(host.card.vblankCount);
  host.card.advanceVblank(3);
  expect(dev.readEvents()).toEqual([]);
});

test('PAGE_FLIP_EVENT on a CRTC that stays off is EINVAL (drm_atomic_crtc_check)', () => {
  const { dev, f } = simKms('gvt-skylake');
  const off = f.t.crtcs.find((c) => !c.active)!;
  const e = (() => {
    try {
      dev.atomic([{ objectId: off.id, propId: off.props.ACTIVE.id, value: 0n }], PAGE_FLIP_EVENT);
    } catch (err) {
      return err as { code: string };
    }
    return null;
  })();
  expect(e?.code).toBe('EINVAL');
});

test('timer pacing completes a flip on its own within a few frames', async () => {
  const host = new SimHost(loadProfile('vkms'), { vblank: 'timer' });
  const dev = host.openKms('/dev/dri/card0');
  const f = fixture(dev);
  const got = new Promise<bigint[]>((resolve) => {
    const stop = dev.watchEvents((ev) => {
      stop();
      resolve(ev.map((e) => e.userData));
    });
  });
  const t0 = Date.now();
  dev.atomic(f.planeProps(f.primary, f.makeFb().fb, f.mode.hdisplay, f.mode.vdisplay), NONBLOCK | PAGE_FLIP_EVENT, 9n);
  expect(await got).toEqual([9n]);
  expect(Date.now() - t0).toBeLessThan(500);
  host.stop();
});

test('TEST_ONLY touches nothing at all: state, fbs, blobs, pending flips, commit log, writeback pixels', () => {
  const { dev, f, host } = simKms('vkms');
  const card = host.card;
  const wb = f.t.connectors.find((c) => c.writeback)!;
  const out = f.makeFb();
  const map = dev.mmap(dev.mapDumb(out.dumb.handle), out.dumb.size);
  map.fill(0x11);
  dev.atomic(f.planeProps(f.primary, f.makeFb().fb, f.mode.hdisplay, f.mode.vdisplay), NONBLOCK | PAGE_FLIP_EVENT, 1n);
  const snap = () => ({
    state: cloneState(card.state), fbs: [...card.fbs.keys()], blobs: [...card.blobs.keys()], log: card.commitLog.length,
    pending: card.hasPendingFlip(f.crtc.id), vblank: card.vblankCount, pixels: createHash('sha256').update(map).digest('hex'),
  });
  const before = snap();
  const job = [
    ...f.planeProps(f.overlay!, out.fb, 64, 64),
    { objectId: wb.id, propId: wb.props.CRTC_ID.id, value: BigInt(f.crtc.id) },
    { objectId: wb.id, propId: wb.props.WRITEBACK_FB_ID.id, value: BigInt(out.fb) },
  ];
  dev.atomic(job, TEST_ONLY | NONBLOCK | ALLOW_MODESET);
  expect(snap()).toEqual(before);
  expect(card.counters.testOnly).toBe(1);
  // The same request for real fails while the flip is pending, and that changes nothing either.
  expect(() => dev.atomic(job, NONBLOCK | ALLOW_MODESET)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
  expect(snap()).toEqual(before);
});
