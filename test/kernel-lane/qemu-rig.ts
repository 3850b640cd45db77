/**
 * QEMU's side of the display listener link on real kernels: a harness on a real socketpair (the
 * D-Bus peer link QEMU hands its listener) sends ScanoutDMABUF with dma-bufs vgem made and
 * UpdateDMABUF, and waits for each reply as QEMU does. The daemon's DisplayListener shows them
 * on a vkms overlay through the CRTC's shared frame pipeline, joined and owned the way the
 * daemon's streams do, on a device that logs every commit and event (flip-log.ts).
 */
import { DRM_CLOEXEC, DRM_RDWR } from '../../src/kernel/constants';
import { socketPair } from '../../src/kernel/native-socket';
import type { Topology, TopoPlane } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import type { PlaneAssignment, Rect } from '../../src/kms/types';
import { MESSAGE, PeerLink } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { EventHub, sharedPipeline } from '../../src/sources/pipeline';
import type { FramePipeline } from '../../src/sources/pipeline';
import type { UdmabufOpener } from '../../src/sources/map-scanout';
import { DisplayListener } from '../../src/sources/qemu-listener';
import { ScanoutTarget } from '../../src/sources/scanout-target';
import type { FlipLog } from './flip-log';
import { now, recording } from './flip-log';
import { cardOf, native, paint, sleep } from './guest';

const LISTENER = 'org.qemu.Display1.Listener';

/** A guest buffer: a vgem dumb buffer and the dma-buf fd QEMU would pass. */
export interface GuestBuffer {
  handle: number;
  fd: number;
  pitch: number;
  size: number;
  width: number;
  height: number;
}

export interface QemuRig {
  vgem: KmsDevice;
  overlay: TopoPlane;
  pipeline: FramePipeline;
  listener: DisplayListener;
  log: FlipLog;
  /** When the listener sent each METHOD_RETURN (CLOCK_MONOTONIC ns), in order. */
  replySent: bigint[];
  /** What the listener logged and what the pipeline reported: both stay empty when all is well. */
  logs: string[];
  errors: Error[];
  /** A Listener call QEMU makes and waits for; `iface`: Listener.Unix.Map's or ScanoutDMABUF2's own. */
  call(member: string, signature: string, body: unknown[], iface?: string): Promise<PeerMessage>;
  buffer(width: number, height: number): GuestBuffer;
  /** The guest draws into its buffer through vgem's own mapping (its GPU, in life). */
  draw(b: GuestBuffer, px: (x: number, y: number) => number): void;
  /** Off screen first (vkms must be done with the imported buffers), then everything it made. */
  close(): Promise<void>;
}

/** `dst`: where the guest's picture goes on the CRTC; `replyWithinMs`: the listener's bound. */
/** `udmabuf`: how the listener opens /dev/udmabuf for Listener.Unix.Map's zero-copy path. */
export async function qemuRig(dev: KmsDevice, t: Topology, crtcId: number, dst: Rect, opts: { replyWithinMs?: number; udmabuf?: UdmabufOpener } = {}): Promise<QemuRig> {
  const vgem = native().openKms(cardOf('vgem'));
  const overlay = t.planes.find((p) => p.type === 'overlay');
  if (!overlay) throw new Error('vkms has no overlay plane (was it loaded with enable_overlay=1?)');
  const log: FlipLog = { entries: [] };
  const logs: string[] = [];
  const errors: Error[] = [];
  const rec = recording(dev, log);
  const hub = new EventHub(rec, (e) => errors.push(e));
  const joined = sharedPipeline(hub, rec, crtcId);
  const buffers: GuestBuffer[] = [];
  const [a, b] = socketPair();
  const ours = new PeerLink(a, 'client');
  const qemu = new PeerLink(b, 'server');
  await Promise.all([ours.open(), qemu.open()]);
  // The moment each reply leaves the listener: what the daemon adds, apart from the link's transit.
  const replySent: bigint[] = [];
  const send = ours.send.bind(ours);
  ours.send = (m) => {
    if (m.type === MESSAGE.METHOD_RETURN) replySent.push(now());
    return send(m);
  };
  const plane: PlaneAssignment = { key: 'console', from: 'primary', planeId: overlay.id, planeType: 'overlay', fbId: 0, src: { x: 0, y: 0, w: dst.w, h: dst.h }, dst, zpos: null, setZpos: false };
  const target = new ScanoutTarget(rec, t, plane, crtcId, joined.pipeline);
  const listener = new DisplayListener(ours, target, { log: (m) => logs.push(m), replyWithinMs: opts.replyWithinMs, udmabuf: opts.udmabuf });
  const disown = joined.pipeline.own([overlay.id], { retire: () => listener.retire(), error: (e) => errors.push(e) });
  return {
    vgem, overlay, pipeline: joined.pipeline, listener, log, replySent, logs, errors,
    call: (member, signature, body, iface = LISTENER) => qemu.call({ path: '/org/qemu/Display1/Listener', interface: iface, member, signature, body }, 10_000),
    buffer: (width, height) => {
      const d = vgem.createDumb(width, height, 32);
      const g = { handle: d.handle, fd: vgem.primeHandleToFd(d.handle, DRM_CLOEXEC | DRM_RDWR), pitch: d.pitch, size: d.size, width, height };
      buffers.push(g);
      return g;
    },
    draw: (g, px) => {
      const map = vgem.mmap(vgem.mapDumb(g.handle), g.size);
      try {
        paint(map, g.width, g.height, g.pitch, px);
      } finally {
        vgem.munmap(map);
      }
    },
    close: async () => {
      const off = ['FB_ID', 'CRTC_ID'].map((n) => ({ objectId: overlay.id, propId: overlay.props[n].id, value: 0n }));
      try {
        qemu.close();
        listener.detach();
        await sleep(50);
        dev.atomic(off, 0);
        await sleep(100);
      } finally {
        disown();
        joined.leave();
        listener.free();
        for (const g of buffers.splice(0)) {
          native().closeFd(g.fd);
          vgem.gemClose(g.handle);
        }
        vgem.close();
      }
    },
  };
}
