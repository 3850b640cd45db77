import type { Host } from '../kernel/host';
import { linkClosedDetail, printable } from './link-detail';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import type { OutputAssignment, PlaneAssignment } from '../kms/types';
import type { ConsoleWanted } from '../sources/display-bus';
import type { EventHub } from '../sources/pipeline';
import { sharedPipeline } from '../sources/pipeline';
import type { FramePipeline } from '../sources/pipeline';
import { attachDisplay } from '../sources/qemu-attach';
import type { Attached } from '../sources/qemu-attach';
import { DisplayListener } from '../sources/qemu-listener';
import { ScanoutTarget } from '../sources/scanout-target';
import type { DomainRecord } from './journal';

/** What `status` shows of one streaming plane. */
export interface StreamStatus {
  plane: string;
  source: string;
  state: 'connecting' | 'streaming' | 'failed' | 'stopped';
  detail: string;
  received: number;
  flipped: number;
  dropped: number;
  /** Commits refused with EBUSY (re-queued and retried) and flip events that never came. */
  busy: number;
  lostFlips: number;
  bytesCopied: number;
}

interface Stream {
  planes: PlaneAssignment[];
  source: 'vfio' | 'qemu-dbus';
  pipeline: FramePipeline;
  state: StreamStatus['state'];
  detail: string;
  /** Adds what the stream shows right now to `detail`. */
  now?: () => string;
  /** No more frames; the picture stays on screen. */
  quiesce(): void;
  /** Frees the stream's framebuffers (after the host display is back). */
  free(): void;
  retire(fbs: number[]): void;
  /** Gives the stream's planes back to the CRTC's shared pipeline. */
  disown: () => void;
}

const WARN_EVERY_MS = 10_000;

/**
 * A domain's streaming sources while it is active: the shared frame pipeline of each CRTC its
 * planes are on (other domains' planes on that CRTC use the same one), a vfio source
 * per vfio plane, and a D-Bus display listener per QEMU console (its picture and, when one is
 * planned, its pointer on the cursor plane). Failures are reported in status and logged; the
 * planes then keep their stand-ins, and release restores the host display as always.
 */
export class DomainStreams {
  private readonly streams: Stream[] = [];
  private readonly joined = new Map<number, { pipeline: FramePipeline; leave(): void }>();
  private stopped = false;
  /** When each distinct warning was last logged: a stream failing at 60 fps must not flood the log. */
  private readonly warned = new Map<string, number>();

  constructor(
    private readonly host: Host,
    private readonly dev: KmsDevice,
    private readonly events: EventHub,
    private readonly record: DomainRecord,
    private readonly log: (msg: string) => void,
    /** How a console's display is reached (tests stand in for QEMU and its bus here). */
    private readonly attach: typeof attachDisplay = attachDisplay,
  ) {}

  private warn(msg: string): void {
    const now = Date.now();
    if (now - (this.warned.get(msg) ?? -Infinity) < WARN_EVERY_MS) return;
    this.warned.set(msg, now);
    this.log(msg);
  }

  private pipeline(crtcId: number): FramePipeline {
    let j = this.joined.get(crtcId);
    if (!j) this.joined.set(crtcId, (j = sharedPipeline(this.events, this.dev, crtcId)));
    return j.pipeline;
  }

  /** A new stream on `planes`: the pipeline hands its fbs and its errors back to it alone. */
  private add(planes: PlaneAssignment[], source: Stream['source'], crtcId: number, state: Stream['state'], detail: string): Stream {
    const pipeline = this.pipeline(crtcId);
    const keys = planes.map((p) => p.key).join(', ');
    const s: Stream = { planes, source, pipeline, state, detail, quiesce: () => undefined, free: () => undefined, retire: () => undefined, disown: () => undefined };
    s.disown = pipeline.own(planes.map((p) => p.planeId), { retire: (fbs) => s.retire(fbs), error: (e) => this.warn(`${keys}: ${e.message}`) });
    this.streams.push(s);
    return s;
  }

  /** `t`: the caller's topology read for this operation (plane and property ids). */
  start(t: Topology): void {
    for (const o of this.record.plan.outputs) {
      const planes = o.planes.filter((p) => this.record.sources[p.key]);
      // A record from before source="vfio" was refused (a running guest's mdev is its QEMU's).
      for (const p of planes.filter((x) => this.record.sources[x.key].source === 'vfio')) this.add([p], 'vfio', o.crtcId, 'failed', "source vfio is no longer served: a running guest's mdev is held by its QEMU; use source='qemu-dbus'");
      const dbus = planes.filter((x) => this.record.sources[x.key].source === 'qemu-dbus');
      const groups = new Map<string, PlaneAssignment[]>();
      for (const p of dbus) {
        const key = JSON.stringify(this.record.display?.wants[p.key] ?? { console: null, pci: null });
        groups.set(key, [...(groups.get(key) ?? []), p]);
      }
      for (const [key, group] of groups) this.startDbus(o, group, JSON.parse(key) as ConsoleWanted, t);
    }
  }

  private startDbus(o: OutputAssignment, group: PlaneAssignment[], want: ConsoleWanted, t: Topology): void {
    const s = this.add(group, 'qemu-dbus', o.crtcId, 'connecting', 'attaching to the D-Bus display');
    const pipeline = s.pipeline;
    const address = this.record.display?.address;
    const keys = group.map((p) => p.key).join(', ');
    if (!address) {
      s.state = 'failed';
      s.detail = "the live domain XML carries no D-Bus display address (<graphics type='dbus' address=…/>)";
      return this.warn(`${keys}: ${s.detail}`);
    }
    const picture = group.find((p) => p.from === 'primary');
    const cursor = group.find((p) => p.from === 'cursor');
    let attached: Attached | null = null;
    s.quiesce = () => attached?.detach();
    this.attach(address, want)
      .then((a) => {
        attached = a;
        if (this.stopped) return a.detach(), a.link.close();
        const main = new ScanoutTarget(this.dev, t, picture ?? cursor!, o.crtcId, pipeline, this.record.display?.geometry?.[(picture ?? cursor!).key] ?? 'planned');
        const listener = new DisplayListener(a.link, main, {
          cursor: cursor && picture ? new ScanoutTarget(this.dev, t, cursor, o.crtcId, pipeline) : undefined,
          log: (m) => this.warn(`${keys}: ${m}`),
          udmabuf: () => this.host.backend.openUdmabuf('/dev/udmabuf'),
        });
        // QEMU hanging up ends the stream; a message that broke the protocol (or anything its
        // handling threw) fails this stream alone: the link is closed, the rest go on.
        a.link.on('close', (err?: Error & { code?: string }) => {
          if (s.state !== 'streaming') return;
          const closed = linkClosedDetail(err);
          Object.assign(s, closed);
          if (closed.state === 'stopped') return;
          this.warn(`${keys}: ${s.detail}`);
        });
        Object.assign(s, {
          state: 'streaming', detail: `${a.why} (${a.console.label})`, now: () => showing(listener, pipeline.plane(main.planeId)),
          quiesce: () => (listener.detach(), a.detach()), free: () => listener.free(), retire: () => listener.retire(),
        });
      })
      // Attaching, or setting up on a link that opened, failed: reported, never a daemon crash.
      .catch((e: unknown) => {
        attached?.link.close();
        attached?.detach();
        Object.assign(s, { state: 'failed', detail: printable(`cannot attach to the D-Bus display at ${address}: ${e instanceof Error ? e.message : String(e)}`) });
        this.warn(`${keys}: ${s.detail}`);
      });
  }

  status(): StreamStatus[] {
    return this.streams.flatMap((s) =>
      s.planes.map((p) => {
        const c = s.pipeline.plane(p.planeId);
        // The D-Bus row has no columns for these: they ride in the detail once they happen.
        const faults = [c.busy && `${c.busy} commits refused busy and retried`, c.lostFlips && `${c.lostFlips} flip events lost`].filter(Boolean);
        const detail = [s.now && s.state === 'streaming' ? `${s.detail}; ${s.now()}` : s.detail, ...faults].join('; ');
        return { plane: p.key, source: s.source, state: s.state, detail, ...c };
      }),
    );
  }

  /** Stops every source and pipeline; what is on screen stays there until `free`. */
  stop(): void {
    this.stopped = true;
    for (const s of this.streams) this.quietly(s, () => s.quiesce());
    for (const s of this.streams) s.disown();
    for (const j of this.joined.values()) j.leave();
    this.joined.clear();
  }

  /** Frees the streams' framebuffers: after the host display is restored, so none is on screen. */
  free(): void {
    for (const s of this.streams.splice(0)) this.quietly(s, () => s.free());
  }

  private quietly(s: Stream, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.warn(`stopping ${s.planes.map((p) => p.key).join(', ')}: ${(e as Error).message}`);
    }
  }
}

/**
 * What the console shows and by which path (pixels, dma-buf, dma-buf2, map via udmabuf, map
 * copying, with why it copies), and the bytes copied per frame on average: 0 on the zero-copy
 * paths, the damage (and what the spare buffer missed) on the copying ones.
 */
function showing(l: DisplayListener, c: { received: number; bytesCopied: number }): string {
  const why = l.copyReason ? ` (${l.copyReason})` : '';
  return `showing ${l.showing}${why}; ${c.received ? Math.round(c.bytesCopied / c.received) : 0} bytes copied per frame`;
}

