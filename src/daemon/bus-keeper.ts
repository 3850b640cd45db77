import * as dbus from 'dbus-next';
import { connectBus } from './connect';
import type { Logger } from './log';
import { withTimeout } from '../util/timeout';

type Msg = InstanceType<typeof dbus.Message>;
type MethodHandler = (msg: Msg) => boolean;

/** The part of a bus connection the service uses; the keeper forwards it to the live connection. */
export interface BusLike {
  addMethodHandler(h: MethodHandler): void;
  requestName(name: string, flags: number): Promise<number>;
  call(msg: Msg): Promise<Msg | null>;
  send(msg: Msg): void;
}

const MAX_BACKOFF_MS = 5000;
/** The header flag of a call that wants no answer (D-Bus specification, "Message Format"). */
const NO_REPLY_EXPECTED = 0x1;

/**
 * Keeps the daemon on the bus. Losing the dbus-daemon (a restart, a crash) must not take the
 * guests off screen nor end the daemon silently: the loss is logged, the engine keeps running,
 * and the keeper reconnects with backoff (100 ms doubling to 5 s), re-attaches the method
 * handlers and owns the names again. While it is away, calls fail with ENOTCONN and sends are
 * dropped: nobody can be waiting for them on a connection that is gone.
 */
export class BusKeeper implements BusLike {
  private bus: dbus.MessageBus | null = null;
  private readonly handlers: MethodHandler[] = [];
  private readonly names: { name: string; flags: number }[] = [];
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly where: string;
  /** Calls handed to a handler and not answered yet, by serial and sender. */
  private readonly unanswered = new Set<string>();
  private drained: (() => void) | null = null;

  constructor(
    private readonly address: string | undefined,
    private readonly log: Logger,
  ) {
    this.where = address ?? 'the system bus';
  }

  async start(timeoutMs: number): Promise<void> {
    const bus = await connectBus(this.address, timeoutMs);
    this.watch(bus);
    this.bus = bus;
  }

  get connected(): boolean {
    return this.bus !== null;
  }

  addMethodHandler(h: MethodHandler): void {
    const counted: MethodHandler = (msg) => {
      const taken = h(msg);
      if (taken && !(msg.flags & NO_REPLY_EXPECTED)) this.unanswered.add(`${msg.sender}/${msg.serial}`);
      return taken;
    };
    this.handlers.push(counted);
    this.bus?.addMethodHandler(counted);
  }

  async requestName(name: string, flags: number): Promise<number> {
    this.names.push({ name, flags });
    if (!this.bus) throw Object.assign(new Error(`not connected to ${this.where} (directflipd reconnects on its own; check the bus with systemctl status dbus if it lasts)`), { code: 'ENOTCONN' });
    return this.bus.requestName(name, flags);
  }

  call(msg: Msg): Promise<Msg | null> {
    if (!this.bus) return Promise.reject(Object.assign(new Error(`the connection to ${this.where} is lost; reconnecting (directflipd does it on its own; check the bus with systemctl status dbus if it lasts)`), { code: 'ENOTCONN' }));
    return this.bus.call(msg);
  }

  send(msg: Msg): void {
    if (msg.replySerial !== undefined && this.unanswered.delete(`${msg.destination}/${msg.replySerial}`) && !this.unanswered.size) this.drained?.();
    if (!this.bus) return;
    try {
      this.bus.send(msg);
    } catch (e) {
      this.log('debug', null, `a message to ${this.where} was dropped (${(e as Error).message})`);
    }
  }

  /** Resolves once every call received has been answered (or after `ms`: a caller's own timeout). */
  drain(ms: number): Promise<void> {
    if (!this.unanswered.size || !this.bus) return Promise.resolve();
    return new Promise<void>((res) => {
      const timer = setTimeout(res, ms);
      this.drained = () => {
        clearTimeout(timer);
        res();
      };
    });
  }

  /** Ends the connection for good: no reconnecting after a stop. */
  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.bus?.disconnect();
    this.bus = null;
  }

  private watch(bus: dbus.MessageBus): void {
    const lost = (why: string) => {
      if (this.bus !== bus || this.closed) return;
      this.bus = null;
      this.unanswered.clear(); // their callers were on the connection that is gone
      this.log('err', null, `lost the connection to ${this.where} (${why}); the guests stay on screen; reconnecting`);
      this.schedule(0);
    };
    // dbus-next forwards stream errors as `error` (thrown if nobody listens) but not the stream's end.
    bus.on('error', (e: Error) => lost(e.message));
    (bus as unknown as { _connection: { on(e: 'end', f: () => void): void } })._connection.on('end', () => lost('the bus closed the connection'));
  }

  private schedule(attempt: number): void {
    const delay = Math.min(100 * 2 ** attempt, MAX_BACKOFF_MS);
    this.retry = setTimeout(() => void this.reconnect(attempt, delay), delay);
  }

  private async reconnect(attempt: number, delay: number): Promise<void> {
    this.retry = null;
    if (this.closed) return;
    let bus: dbus.MessageBus | null = null;
    try {
      bus = await connectBus(this.address, MAX_BACKOFF_MS);
      if (this.closed) return bus.disconnect();
      this.watch(bus);
      for (const h of this.handlers) bus.addMethodHandler(h);
      for (const n of this.names) {
        const reply = await withTimeout(bus.requestName(n.name, n.flags), MAX_BACKOFF_MS, `RequestName ${n.name}`);
        if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`${n.name} is owned by another connection`);
      }
      this.bus = bus;
      this.log('notice', null, `back on ${this.where} after ${attempt + 1} attempt(s); ${this.names.map((n) => n.name).join(', ')} owned again`);
    } catch (e) {
      bus?.disconnect();
      // Every attempt at first, then about once a minute: a long outage must not flood the log.
      if (attempt < 5 || attempt % 12 === 0) this.log('warning', null, `reconnecting to ${this.where} failed (${(e as Error).message}); retrying in ${Math.min(delay * 2, MAX_BACKOFF_MS)} ms`);
      this.schedule(attempt + 1);
    }
  }
}
