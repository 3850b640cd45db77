import type { SimHost } from '../../src/kernel/sim/host';
import { socketPair } from '../../src/kernel/native-socket';
import { readTopology } from '../../src/kernel/topology';
import type { DrmEvent, KmsDevice } from '../../src/kernel/types';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { MESSAGE, NO_REPLY_EXPECTED, PeerLink } from '../../src/sources/dbus-peer';
import { EventHub, FramePipeline } from '../../src/sources/pipeline';
import type { UdmabufOpener } from '../../src/sources/map-scanout';
import { DisplayListener } from '../../src/sources/qemu-listener';
import { ScanoutTarget } from '../../src/sources/scanout-target';

const LISTENER = 'org.qemu.Display1.Listener';

/**
 * A Display1 listener on the simulated card's first overlay (and cursor plane, when asked), fed
 * by a harness that plays QEMU over a real socketpair: the SASL server, then the caller.
 */
export interface ListenerRig {
  dev: KmsDevice;
  crtc: number;
  overlay: number;
  cursorPlane: number;
  qemu: PeerLink;
  /** The listener's own end of the link. */
  ours: PeerLink;
  pipeline: FramePipeline;
  listener: DisplayListener;
  logs: string[];
  /** A call QEMU makes and waits for (UpdateDMABUF, ScanoutDMABUF …). */
  call(member: string, signature: string, body: unknown[]): Promise<PeerMessage>;
  /** A call QEMU makes without waiting (Scanout, Update). */
  send(member: string, signature: string, body: unknown[]): void;
  close(): void;
}

/**
 * `replyWithinMs`: the listener's bound on holding a reply for its flip. `dropEvents`: while it
 * returns true, the pipeline never hears of flips (a lost event), though the card still flips.
 */
export async function listenerRig(
  sim: SimHost,
  opts: { w: number; h: number; dst?: { x: number; y: number }; cursor?: boolean; replyWithinMs?: number; dropEvents?: () => boolean; udmabuf?: UdmabufOpener },
): Promise<ListenerRig> {
  const dev = sim.openKms(sim.profile.kms.devPath);
  const t = readTopology(dev);
  const crtc = t.crtcs[0].id;
  const overlay = t.planes.find((p) => p.type === 'overlay')!.id;
  const cursorPlane = t.planes.find((p) => p.type === 'cursor')!.id;
  const [a, b] = socketPair();
  const ours = new PeerLink(a, 'client');
  const qemu = new PeerLink(b, 'server');
  await Promise.all([ours.open(), qemu.open()]);
  const logs: string[] = [];
  let listener: DisplayListener | null = null;
  const drop = opts.dropEvents;
  const events = drop ? lossy(dev, drop) : dev;
  const pipeline = new FramePipeline(events, crtc, new EventHub(events), () => listener?.retire(), (e) => {
    throw e;
  });
  const { w, h } = opts;
  const dst = { x: opts.dst?.x ?? 0, y: opts.dst?.y ?? 0, w, h };
  const plane = (planeId: number, from: 'primary' | 'cursor') => ({ key: from, from, planeId, planeType: 'overlay' as const, fbId: 0, src: { x: 0, y: 0, w, h }, dst, zpos: null, setZpos: false });
  listener = new DisplayListener(ours, new ScanoutTarget(dev, t, plane(overlay, 'primary'), crtc, pipeline), {
    cursor: opts.cursor ? new ScanoutTarget(dev, t, plane(cursorPlane, 'cursor'), crtc, pipeline) : undefined,
    log: (m) => logs.push(m),
    replyWithinMs: opts.replyWithinMs,
    udmabuf: opts.udmabuf,
  });
  const path = '/org/qemu/Display1/Listener';
  return {
    dev, crtc, overlay, cursorPlane, qemu, ours, pipeline, listener, logs,
    call: (member, signature, body) => qemu.call({ path, interface: LISTENER, member, signature, body }, 5000),
    send: (member, signature, body) => void qemu.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path, interface: LISTENER, member, signature, body }),
    close: () => {
      // Tests may have closed some of these themselves; closing twice is harmless here.
      listener!.close();
      qemu.close();
      pipeline.stop();
      dev.close();
    },
  };
}

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const { marshallMessage } = require('dbus-next/lib/marshall-compat');

/** A Listener call's bytes as QEMU would send them, and the fds its `h` arguments refer to. */
export function listenerCall(member: string, signature: string, body: unknown[], serial = 1, flags = 0): { buf: Buffer; fds: number[] } {
  const [buf, fds] = marshallMessage({ type: MESSAGE.METHOD_CALL, flags, serial, path: '/org/qemu/Display1/Listener', interface: LISTENER, member, signature, body }) as [Buffer, number[]];
  return { buf, fds };
}

/** Our end of a listener link and the end that plays QEMU, both past the handshake. */
export async function peerPair(): Promise<{ ours: PeerLink; qemu: PeerLink }> {
  const [a, b] = socketPair();
  const ours = new PeerLink(a, 'client');
  const qemu = new PeerLink(b, 'server');
  await Promise.all([ours.open(), qemu.open()]);
  return { ours, qemu };
}

/** Resolves with the error `link` closes with (undefined for a plain close). */
/**
 * Waits for a call QEMU made while the simulated card's vblanks go by (manual vblank), so a reply
 * held for its flip can come.
 */
export async function withVblanks<T>(host: SimHost, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    host.card.advanceVblank();
  }
  return p;
}

export function closed(link: PeerLink): Promise<(Error & { code?: string }) | undefined> {
  return new Promise((r) => link.once('close', r));
}

/** `dev` whose event watchers miss every event while `drop()` says so. */
function lossy(dev: KmsDevice, drop: () => boolean): KmsDevice {
  return new Proxy(dev, {
    get(target, k) {
      if (k === 'watchEvents') return (cb: (ev: DrmEvent[]) => void) => target.watchEvents((ev) => (drop() ? undefined : cb(ev)));
      const v = Reflect.get(target, k) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
