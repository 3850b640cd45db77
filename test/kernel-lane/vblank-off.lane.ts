/**
 * The lane's own vkms must outlive a CRTC going off while its vblank timer fires. Upstream vkms
 * cancels that timer waiting, under the vblank spinlocks its callback takes on the other CPU: both
 * CPUs then spin with interrupts off and the guest stops without a word (a stall the 6.12 lane
 * showed twice in 13 runs). patch-sources.pl's vkms-vblank-no-wait stops the timer without waiting,
 * lets a running callback end it, and restarts it from the enable. This drives exactly those paths:
 * the CRTC off and on, off from this thread and on from libuv's pool (so the timer often lives on
 * the other CPU), at 16 times the boot mode's refresh, and checks every switch-on's vblank event
 * arrives with a later count. It does not provoke the race at will (unpatched vkms passed it in
 * every try): a stall, wherever it happens, shows as the NMI backtraces kernel.sh prints.
 */
import { encodeModeInfo } from '../../src/kernel/blobs';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { Topology } from '../../src/kernel/topology';
import type { DrmEvent, KmsDevice, ModeInfo } from '../../src/kernel/types';
import { collectMappings, openVkmsDisplay, sleep } from './guest';
import { report } from './runner';

const CYCLES = 500;
/** The boot mode's timings at this many times its pixel clock: a vblank about every millisecond. */
const FASTER = 16;

describe("the lane's vkms: a CRTC switched off while its vblank timer runs (vkms-vblank-no-wait)", () => {
  let dev: KmsDevice;
  let t: Topology;
  let crtcId = 0;

  beforeAll(async () => {
    ({ dev, t, crtcId } = await openVkmsDisplay());
  });

  afterAll(async () => {
    dev.close();
    await collectMappings();
  });

  test(`${CYCLES} CRTC off/on cycles at ${FASTER}x the refresh rate: every commit succeeds and each switch-on's event counts a later vblank`, async () => {
    const crtc = t.crtcs.find((c) => c.id === crtcId)!;
    const boot = crtc.mode;
    if (!boot) throw new Error(`CRTC ${crtcId} has no mode at boot`);
    const fast: ModeInfo = { ...boot, clock: boot.clock * FASTER, vrefresh: boot.vrefresh * FASTER, name: `${boot.name}-x${FASTER}` };
    const blobs = [dev.createPropBlob(encodeModeInfo(fast)), dev.createPropBlob(encodeModeInfo(boot))];
    const prop = (name: string, value: number) => ({ objectId: crtcId, propId: crtc.props[name].id, value: BigInt(value) });
    const commit = (props: ReturnType<typeof prop>[], flags = 0, tag?: bigint) => dev.atomicAsync(props, DRM_MODE_ATOMIC.ALLOW_MODESET | flags, tag);
    /** The event of switch-on `tag`: a blocking commit returns once its flip is done. */
    const eventOf = async (tag: bigint): Promise<DrmEvent> => {
      for (let i = 0; i < 200; i++) {
        const e = dev.readEvents().find((x) => x.userData === tag);
        if (e) return e;
        await sleep(5);
      }
      throw new Error(`no event for switch-on ${tag} within 1 s`);
    };
    const started = Date.now();
    let last = -1;
    try {
      await commit([prop('MODE_ID', blobs[0]), prop('ACTIVE', 1)]);
      for (let i = 1; i <= CYCLES; i++) {
        // Off from this thread, on from libuv's pool: the disabling CPU is often not the one
        // the timer was started on, the only way its callback can run during the switch-off.
        dev.atomic([prop('ACTIVE', 0)], DRM_MODE_ATOMIC.ALLOW_MODESET);
        await commit([prop('ACTIVE', 1)], DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, BigInt(i));
        const { sequence } = await eventOf(BigInt(i));
        if (sequence <= last) throw new Error(`switch-on ${i}: its event counts vblank ${sequence}, not past ${last}`);
        last = sequence;
      }
    } finally {
      await commit([prop('MODE_ID', blobs[1]), prop('ACTIVE', 1)]);
      for (const b of blobs) dev.destroyPropBlob(b);
    }
    report(`# vblank-off: ${CYCLES} CRTC off/on cycles at ${fast.vrefresh} Hz in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 120_000);
});
