/**
 * The native addon's contract suites (test/contract), the same assertions the simulator passes,
 * run against real ioctls: KMS on vkms, VFIO on an mbochs mdev.
 */
import type { KmsDevice } from '../../src/kernel/types';
import { addfb2Contract } from '../contract/addfb2.contract';
import { kmsContract } from '../contract/kms.contract';
import { vfioContract } from '../contract/vfio.contract';
import { cardOf, collectMappings, guestDisable, guestMode, guestPan, mbochsMdev, native, openMdev, recordingBackend, sleep } from './guest';

/** Every file a test opened, closed afterwards unless the test closed it (fd numbers get reused). */
function trackingOpen(path: string, opened: { dev: KmsDevice; closed: boolean }[]): KmsDevice {
  const dev = native().openKms(path);
  const entry = { dev, closed: false };
  const close = dev.close.bind(dev);
  dev.close = () => {
    entry.closed = true;
    close();
  };
  opened.push(entry);
  return dev;
}

kmsContract('vkms (real kernel)', () => {
  const path = cardOf('vkms');
  const opened: { dev: KmsDevice; closed: boolean }[] = [];
  return {
    open: () => trackingOpen(path, opened),
    // vkms's vblank is an hrtimer at the mode's refresh rate: wait one out.
    vblank: () => sleep(20),
    // An mmap of a dumb buffer holds the DRM file — and with it DRM master — past close(fd), until
    // the mapping goes. The addon unmaps only when the GC finalizes the Buffer, so collect the
    // previous test's mappings before the next test expects its first open to be master.
    close: async () => {
      for (const o of opened.splice(0).reverse()) if (!o.closed) o.dev.close();
      await collectMappings();
    },
  };
});

// Every slot of ADDFB2's four arrays reaches the kernel, which refuses a value on a plane
// XRGB8888 does not have: the addon drops none of a multi-plane buffer's planes.
addfb2Contract('vkms (real kernel)', () => ({ open: () => native().openKms(cardOf('vkms')), close: () => collectMappings() }));

vfioContract('mbochs (real kernel)', () => {
  const m = mbochsMdev('mbochs-medium');
  // Each test starts from a guest with no mode set. mbochs keeps its dispi registers across
  // opens (only VFIO_DEVICE_RESET clears them), so switch the display off first.
  const v = openMdev(m);
  try {
    guestDisable(v.d);
  } finally {
    v.close();
  }
  const rec = recordingBackend();
  const W = 640;
  const H = 480;
  // The "guest" works through the device the test opened (the group admits one opener).
  const held = () => {
    const d = rec.devices[rec.devices.length - 1];
    if (!d) throw new Error('the test opened no VFIO device for the guest to use');
    return d;
  };
  let own: ReturnType<typeof openMdev> | null = null;
  return {
    uuid: m.uuid,
    openContainer: () => rec.backend.openVfioContainer('/dev/vfio/vfio'),
    openGroup: () => rec.backend.openVfioGroup(m.group),
    enableGuestPlane: () => {
      // Called before the test opens the device: program it through an open of our own, closed
      // again before the test opens the group (the dispi registers survive the close).
      own = openMdev(m);
      try {
        guestMode(own.d, W, H, 0, H * 2);
      } finally {
        own.close();
        own = null;
      }
    },
    // A pan to the second half of the virtual screen: a new framebuffer for mbochs. (No pixels
    // through an mmap of BAR0 here: the mapping would hold the device file, and so the group,
    // open into the next test, and the contract's afterEach does not wait for an async close.)
    guestFlip: () => guestPan(held(), H),
    closeFd: (fd) => rec.backend.closeFd(fd),
    close: () => {
      own?.close();
    },
  };
});
