/**
 * The kernel lane's in-guest entry (bundled by scripts/lanes/kernel/bundle.js, run by /init):
 * the runner's globals first, then every suite in the order they run.
 */
import { report, run } from './runner';
import './env.lane';
import './contracts.lane';
import './topology.lane';
import './engine.lane';
import './vfio.lane';
import './vgem.lane';
import './udmabuf.lane';
import './qemu-dbus.lane';
import './qemu-map.lane';
import './qemu-dmabuf2.lane';
import './ebusy.lane';
import './pacing.lane';
import './floor.lane';
import './uevent.lane';
import './handles.lane';
import './vblank-off.lane';
import './kernel-log.lane';

process.on('uncaughtException', (e) => report(`# uncaught: ${e.stack ?? e}`));
process.on('unhandledRejection', (e) => report(`# unhandled rejection: ${(e as Error)?.stack ?? e}`));

void run().then((code) => {
  process.exitCode = code;
});
