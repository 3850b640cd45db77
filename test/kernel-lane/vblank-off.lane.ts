/**
 * The lane's own vkms must outlive a CRTC going off while its vblank timer fires. Upstream vkms
 * cancels that timer waiting (hrtimer_cancel) under the vblank spinlocks its callback takes on the
 * other CPU: both CPUs then spin with interrupts off and the guest stops without a word, as the
 * 6.12 lane did twice in 13 runs. patch-sources.pl's vkms-vblank-no-wait stops the timer without
 * waiting. This sets the race up on purpose: the vblank timer started from CPU 0, the switch-off
 * made from CPU 1 while CPU 0 stays busy, at a random phase, at 16x the boot refresh, with the
 * lane's test control making each timer callback take 300 us before the locks (as a slow interrupt
 * handler would). Unpatched vkms hung here in every run tried (the host's NMI then showed CPU 0 in
 * drm_handle_vblank and CPU 1 in hrtimer_cancel); patched, every cycle's flip event arrives: the
 * timer runs again after each switch-off that raced its callback.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { encodeModeInfo } from '../../src/kernel/blobs';
import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice, ModeInfo } from '../../src/kernel/types';
import { collectMappings, openVkmsDisplay, sleep } from './guest';
import { report } from './runner';

const CYCLES = 500;
/** The lane's test control: each vblank callback busy-waits this long before the vblank locks. */
const SLOW = '/sys/module/vkms/parameters/df_lane_slow_vblank_us';
const SLOW_US = 300;
/** The boot mode's timings at this many times its pixel clock: a vblank about every millisecond. */
const FASTER = 16;

/**
 * This thread on CPU 0 and every other thread of ours (libuv's pool among them) on CPU 1, or all
 * back on both. Switch-ons from here start the vblank timer on CPU 0; switch-offs from the pool
 * run on CPU 1, the only arrangement in which the timer's callback can run during a switch-off.
 */
function pin(on: boolean): void {
  for (const tid of readdirSync('/proc/self/task')) {
    const mask = !on ? '3' : Number(tid) === process.pid ? '1' : '2';
    try {
      execFileSync('taskset', ['-p', mask, tid], { stdio: 'ignore' });
    } catch (e) {
      if (existsSync(`/proc/self/task/${tid}`)) throw e; // else the thread has just ended
    }
  }
}

describe("the lane's vkms: a CRTC switched off while its vblank timer runs (vkms-vblank-no-wait)", () => {
  let dev: KmsDevice;
  let t: Topology;
  let crtcId = 0;

  beforeAll(async () => {
    ({ dev, t, crtcId } = await openVkmsDisplay());
    if (!existsSync(SLOW)) throw new Error(`${SLOW} is missing: this vkms was not built by the lane (patch-sources.pl vkms-slow-vblank-param)`);
    writeFileSync(SLOW, String(SLOW_US));
    // libuv starts its pool on first use: make it exist before the threads are pinned.
    await dev.atomicAsync([], DRM_MODE_ATOMIC.TEST_ONLY);
    pin(true);
  });

  afterAll(async () => {
    pin(false);
    if (existsSync(SLOW)) writeFileSync(SLOW, '0');
    dev.close();
    await collectMappings();
  });

  test(`${CYCLES} CRTC off/on cycles at ${FASTER}x the refresh rate: every commit succeeds and each cycle's flip event arrives`, async () => {
    const crtc = t.crtcs.find((c) => c.id === crtcId)!;
    const boot = crtc.mode;
    if (!boot) throw new Error(`CRTC ${crtcId} has no mode at boot`);
    const fast: ModeInfo = { ...boot, clock: boot.clock * FASTER, vrefresh: boot.vrefresh * FASTER, name: `${boot.name}-x${FASTER}` };
    const blobs = [dev.createPropBlob(encodeModeInfo(fast)), dev.createPropBlob(encodeModeInfo(boot))];
    const PERIOD_MS = (fast.htotal * fast.vtotal) / fast.clock;
    const prop = (name: string, value: number) => ({ objectId: crtcId, propId: crtc.props[name].id, value: BigInt(value) });
    const commit = (props: ReturnType<typeof prop>[]) => dev.atomicAsync(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
    /** The event of flip `tag`: a blocking commit returns once its flip is done. */
    const eventOf = async (tag: bigint): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        if (dev.readEvents().some((x) => x.userData === tag)) return;
        await sleep(5);
      }
      throw new Error(`no event for flip ${tag} within 1 s`);
    };
    const started = Date.now();
    try {
      await commit([prop('MODE_ID', blobs[0]), prop('ACTIVE', 0)]);
      for (let i = 1; i <= CYCLES; i++) {
        // On, then a flip event from this thread: a switch-on's own event is sent before the
        // CRTC's vblank is on, so it is the flip's vblank reference that starts the timer, on CPU 0.
        dev.atomic([prop('ACTIVE', 1)], DRM_MODE_ATOMIC.ALLOW_MODESET);
        dev.atomic([prop('ACTIVE', 1)], DRM_MODE_ATOMIC.PAGE_FLIP_EVENT, BigInt(i));
        // Only its arrival is checked, not its count: vkms derives the count from its timer's
        // expiry, and a switch-off that reads it while the callback runs on the other CPU can
        // make the count jump (a timestamp race of vkms's own, seen here about once in 2000 cycles).
        await eventOf(BigInt(i));
        // Off from libuv's pool on CPU 1 while this thread spins on CPU 0, at a random phase
        // against the timer: its callback fires on CPU 0 while the switch-off holds the locks.
        const off = commit([prop('ACTIVE', 0)]);
        for (const until = performance.now() + (1 + Math.random()) * PERIOD_MS; performance.now() < until; );
        await off;
      }
    } finally {
      await commit([prop('MODE_ID', blobs[1]), prop('ACTIVE', 1)]);
      for (const b of blobs) dev.destroyPropBlob(b);
    }
    report(`# vblank-off: ${CYCLES} CRTC off/on cycles at ${fast.vrefresh} Hz in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 120_000);
});
