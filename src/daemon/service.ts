import * as dbus from 'dbus-next';
import { ConfigError, parseDomainXml } from '../config';
import { configFor } from '../config/host-config';
import { modeLabel } from '../kms/mode';
import type { Plan } from '../kms/types';
import { BusRefusal, DBUS_ERROR, MethodTable } from './bus-methods';
import type { Engine } from './engine';
import type { DomainStatus } from './records';
import { DaemonError } from './errors';
import { identityOf } from './identity';
import type { Logger } from './log';
import { BUS_NAME, introspectionXml, MANAGER_IFACE, OBJECT_PATH } from './names';
import { RefusalLog } from './refusal-log';
import { simControlHandlers } from './sim-controls';
import { withTimeout } from '../util/timeout';
import { sendable } from './wire-safe';

const { Message, Variant } = dbus;

type Msg = InstanceType<typeof Message>;
type Args = Record<string, unknown>;
type Handler = (a: Args) => Promise<unknown[]> | unknown[];

/** The header flag of a call that wants no answer (D-Bus specification, "Message Format"). */
const NO_REPLY_EXPECTED = 0x1;

/** A plane assignment as the D-Bus struct (ssuusss(iiuu)i). */
function planeStructs(plan: Plan, sources: DomainStatus['sources']): unknown[] {
  return plan.outputs.flatMap((o) =>
    o.planes.map((p) => [o.connector, modeLabel(o.mode), o.crtcId, p.planeId, p.planeType, p.from, sources[p.key]?.source ?? 'auto', [p.dst.x, p.dst.y, p.dst.w, p.dst.h], p.zpos ?? -1]),
  );
}

/**
 * io.github.directflip1.Manager over dbus-next's message layer. Every call is answered here,
 * whatever its path: it must come from uid 0 (the D-Bus policy is the first wall, this the
 * second), and its signature must be exactly the one the introspection XML declares (read at
 * start, and answered verbatim to Introspect). Refusals are logged with the caller's uid and
 * pid, rate-limited; an error reply carries a name and a message, never a stack.
 */
export class ManagerService {
  private readonly xml = introspectionXml();
  private readonly table: MethodTable;
  private readonly refusals: RefusalLog;
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly info: { version: string; host: string },
    /** Simulated hosts only: a PNG of what a connector's monitor shows (io.github.directflip1.Simulator). */
    private readonly screenshot?: (connector: string) => Buffer,
  ) {
    this.table = new MethodTable(this.xml, { simulator: !!screenshot });
    this.refusals = new RefusalLog(log);
    this.handlers = this.methods();
    for (const m of this.table.all()) if (!this.handlers[`${m.iface}.${m.member}`]) log('warning', null, `the introspection XML declares ${m.iface}.${m.member}, which this daemon does not serve`);
  }

  async start(): Promise<void> {
    this.bus.addMethodHandler((msg: Msg) => {
      void this.handle(msg);
      return true;
    });
    const reply = await withTimeout(this.bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE), 10_000, `RequestName ${BUS_NAME}`);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
      throw new DaemonError('Device', `the bus name ${BUS_NAME} is already owned: is another directflipd running? stop it (\`systemctl stop directflipd\`) before starting this one`);
    }
  }

  /** Refusal counts still pending are logged, not lost. */
  stop(): void {
    this.refusals.flush();
  }

  private async caller(sender: string): Promise<{ uid: number | null; pid: number | null }> {
    const reply = await withTimeout(
      this.bus.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetConnectionCredentials', signature: 's', body: [sender] })),
      5000,
      'GetConnectionCredentials',
    );
    const creds = (reply?.body[0] ?? {}) as Record<string, { value: unknown }>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : null);
    return { uid: num(creds.UnixUserID?.value), pid: num(creds.ProcessID?.value) };
  }

  private async handle(msg: Msg): Promise<void> {
    const call = `${msg.interface ?? '(no interface)'}.${msg.member}`;
    const who = { uid: null as number | null, pid: null as number | null };
    try {
      try {
        Object.assign(who, await this.caller(msg.sender ?? ''));
      } catch (e) {
        throw new DaemonError('AccessDenied', `directflipd could not tell who is calling (${(e as Error).message}), so it refuses; call it as root over the system bus`);
      }
      if (who.uid !== 0) throw new DaemonError('AccessDenied', `directflipd answers only root; uid ${who.uid} asked for ${msg.member}: run the command as root (sudo)`);
      const [signature, body] = await this.dispatch(msg);
      if (!(msg.flags & NO_REPLY_EXPECTED)) this.bus.send(Message.newMethodReturn(msg, signature, sendable(body)));
    } catch (e) {
      const known = e instanceof DaemonError || e instanceof BusRefusal;
      const name = known ? e.dbusName : 'io.github.directflip1.Error.Internal';
      const text = known ? e.message : `${call} failed inside directflipd (${e instanceof Error ? e.message : String(e)}); the daemon log has the details`;
      if (!known) this.log('err', null, `${call} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (name.endsWith('.AccessDenied') || name === `${DBUS_ERROR}.InvalidArgs`) {
        this.refusals.note({ ...who, sender: msg.sender ?? '', call, error: name, message: text });
      }
      // dbus-next's typings say newError takes a string; the implementation takes the call.
      if (!(msg.flags & NO_REPLY_EXPECTED)) this.bus.send(Message.newError(msg as unknown as string, name, sendable(text)));
    }
  }

  private async dispatch(msg: Msg): Promise<[string, unknown[]]> {
    if (msg.path !== OBJECT_PATH) return this.elsewhere(msg);
    const spec = this.table.lookup(msg.interface, msg.member ?? '');
    const args = this.table.check(spec, msg.signature, msg.body);
    const run = this.handlers[`${spec.iface}.${spec.member}`];
    if (!run) throw new BusRefusal(`${DBUS_ERROR}.UnknownMethod`, `${spec.iface}.${spec.member} is declared but this daemon does not serve it`);
    return [spec.out, await run(args)];
  }

  /** Paths above ours introspect to the next node down, so `gdbus introspect` can walk to us. */
  private elsewhere(msg: Msg): [string, unknown[]] {
    const path = msg.path ?? '';
    const above = path === '/' || OBJECT_PATH.startsWith(`${path}/`);
    if (above && msg.member === 'Introspect' && (!msg.interface || msg.interface === 'org.freedesktop.DBus.Introspectable')) {
      this.table.check({ iface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect', in: '', inNames: [], out: 's' }, msg.signature, msg.body);
      const child = OBJECT_PATH.slice(path === '/' ? 1 : path.length + 1).split('/')[0];
      return ['s', [`<node><node name="${child}"/></node>`]];
    }
    throw new BusRefusal(`${DBUS_ERROR}.UnknownObject`, `no object ${path}: directflipd serves ${OBJECT_PATH}`);
  }

  /** The metadata, else the host's domains.d file for the domain (config/host-config.ts). */
  private config(xml: unknown) {
    try {
      return configFor(xml as string, this.engine.host.sys.root).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new DaemonError('InvalidConfig', e.message);
      throw e;
    }
  }

  /** Release must work with whatever libvirt hands over, so a bad or empty XML is no XML. */
  private lenientConfig(xml: unknown) {
    if (typeof xml !== 'string' || !xml.trim()) return null;
    try {
      return parseDomainXml(xml);
    } catch (e) {
      if (e instanceof ConfigError) return null;
      throw e;
    }
  }

  private changed(domain: string, state: string): void {
    this.bus.send(Message.newSignal(OBJECT_PATH, MANAGER_IFACE, 'AssignmentChanged', 'ss', [domain, state]));
  }

  private result(s: DomainStatus): unknown[] {
    return [s.state, planeStructs(s.plan, s.sources), s.notes];
  }

  /** Each served method, by the XML's argument names. */
  private methods(): Record<string, Handler> {
    const M = `${MANAGER_IFACE}.`;
    return {
      'org.freedesktop.DBus.Introspectable.Introspect': () => [this.xml],
      'org.freedesktop.DBus.Peer.Ping': () => [],
      'org.freedesktop.DBus.Properties.Get': (a) => [this.property(a.interface_name as string, a.property_name as string)],
      'org.freedesktop.DBus.Properties.GetAll': (a) => [
        Object.fromEntries([...this.table.properties].filter(([, p]) => p.iface === a.interface_name).map(([k]) => [k, this.property(MANAGER_IFACE, k)])),
      ],
      'org.freedesktop.DBus.Properties.Set': (a) => {
        throw new BusRefusal(`${DBUS_ERROR}.PropertyReadOnly`, `${String(a.interface_name)}.${String(a.property_name)} is read-only`);
      },
      'io.github.directflip1.Simulator.Screenshot': (a) => [this.screenshot!(a.connector as string)],
      ...(this.engine.host.sim ? simControlHandlers(this.engine.host.sim) : {}),
      [`${M}Prepare`]: async (a) => {
        const c = this.config(a.domain_xml);
        if (!c.configured) return ['unconfigured', [], []];
        const s = await this.engine.prepare(c, a.domain as string);
        this.changed(c.name, s.state);
        return this.result(s);
      },
      // A domain the daemon does not know (it restarted between prepare and started) is prepared first.
      [`${M}Activate`]: async (a) => {
        const c = this.config(a.domain_xml);
        if (!c.configured) return ['unconfigured', [], []];
        const s = await this.engine.activate(a.domain as string, c);
        this.changed(s.domain, s.state);
        return this.result(s);
      },
      // Never fails on the XML: with none usable, the engine releases by name.
      [`${M}Release`]: async (a) => {
        const r = await this.engine.release(a.domain as string, a.reason as string, this.lenientConfig(a.domain_xml));
        this.changed(a.domain as string, r.state);
        return [r.state, r.notes];
      },
      [`${M}Reconnect`]: (a) => this.reconnect(a.domain as string, a.domain_xml as string),
      [`${M}Status`]: () => [this.engine.status().map((s) => [s.domain, ...this.result(s)])],
      [`${M}Streams`]: () => [
        this.engine.status().flatMap((d) => d.streams.map((x) => [d.domain, x.plane, x.source, x.state, x.detail, x.received, x.flipped, x.dropped, BigInt(x.bytesCopied)])),
      ],
    };
  }

  /** libvirtd restarted: re-adopt if we lost the domain; never an error (that would kill the VM). */
  private async reconnect(name: string, xml: string): Promise<[string, string[]]> {
    try {
      const c = this.config(xml);
      if (!c.configured) return ['unconfigured', []];
      if (c.name !== name) this.log('warning', c.name, `reconnect: libvirt names it ${JSON.stringify(name)} in argv; going by the XML's uuid`);
      const uuid = identityOf(c).uuid;
      const known = this.engine.status().find((s) => s.uuid === uuid);
      if (known) return [known.state, ['still assigned']];
      const s = await this.engine.activate(c.name, c);
      this.changed(s.domain, s.state);
      return [s.state, ['re-adopted at reconnect']];
    } catch (e) {
      this.log('warning', name, `reconnect could not re-adopt it: ${(e as Error).message}`);
      return ['failed', [(e as Error).message]];
    }
  }

  private property(iface: string, name: string): InstanceType<typeof Variant> {
    const p = this.table.properties.get(name);
    if (!p || p.iface !== iface) throw new BusRefusal(`${DBUS_ERROR}.UnknownProperty`, `no property ${iface}.${name}`);
    const values: Record<string, string> = { Version: this.info.version, Host: this.info.host };
    if (!(name in values)) throw new BusRefusal(`${DBUS_ERROR}.UnknownProperty`, `${iface}.${name} is declared but this daemon does not serve it`);
    return new Variant(p.type, values[name]);
  }
}
