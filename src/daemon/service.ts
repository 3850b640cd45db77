import * as dbus from 'dbus-next';
import { ConfigError, parseDomainXml } from '../config';
import { modeLabel } from '../kms/mode';
import type { Plan } from '../kms/types';
import type { DomainStatus, Engine } from './engine';
import { DaemonError } from './errors';
import type { Logger } from './log';
import { BUS_NAME, introspectionXml, MANAGER_IFACE, OBJECT_PATH, SIMULATOR_IFACE } from './names';
import { withTimeout } from './timeout';

const { Message, Variant } = dbus;

/**
 * Test and demo surface of a simulated host, not part of the Manager contract: Screenshot(s
 * connector) → ay, a PNG of that monitor. Absent on real hardware.
 */
type Msg = InstanceType<typeof Message>;

/** A plane assignment as the D-Bus struct (ssuusss(iiuu)i). */
function planeStructs(plan: Plan, sources: DomainStatus['sources']): unknown[] {
  return plan.outputs.flatMap((o) =>
    o.planes.map((p) => [o.connector, modeLabel(o.mode), o.crtcId, p.planeId, p.planeType, p.from, sources[p.key]?.source ?? 'auto', [p.dst.x, p.dst.y, p.dst.w, p.dst.h], p.zpos ?? -1]),
  );
}

/**
 * io.github.directflip1.Manager over dbus-next's message layer: the introspection XML in the repo
 * is answered verbatim, every call is checked to come from uid 0 (the D-Bus policy is the first
 * wall, this the second), and refusals are the XML's error names.
 */
export class ManagerService {
  private readonly xml = introspectionXml();

  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly info: { version: string; host: string },
    /** Simulated hosts only: a PNG of what a connector's monitor shows (io.github.directflip1.Simulator). */
    private readonly screenshot?: (connector: string) => Buffer,
  ) {}

  async start(): Promise<void> {
    this.bus.addMethodHandler((msg: Msg) => {
      if (msg.path !== OBJECT_PATH) return false;
      void this.handle(msg);
      return true;
    });
    const reply = await withTimeout(this.bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE), 10_000, `RequestName ${BUS_NAME}`);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
      throw new DaemonError('Device', `the bus name ${BUS_NAME} is already owned: is another directflipd running?`);
    }
  }

  private async callerUid(sender: string): Promise<number> {
    const reply = await withTimeout(
      this.bus.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetConnectionUnixUser', signature: 's', body: [sender] })),
      5000,
      'GetConnectionUnixUser',
    );
    return Number(reply!.body[0]);
  }

  private async handle(msg: Msg): Promise<void> {
    try {
      const uid = await this.callerUid(msg.sender!);
      if (uid !== 0) throw new DaemonError('AccessDenied', `directflipd answers only root; uid ${uid} asked for ${msg.member}`);
      const [signature, body] = await this.dispatch(msg);
      this.bus.send(Message.newMethodReturn(msg, signature, body));
    } catch (e) {
      const name = e instanceof DaemonError ? e.dbusName : 'io.github.directflip1.Error.Internal';
      if (!(e instanceof DaemonError)) this.log('err', null, `${msg.member} failed: ${(e as Error).stack ?? e}`);
      // dbus-next's typings say newError takes a string; the implementation takes the call.
      this.bus.send(Message.newError(msg as unknown as string, name, (e as Error).message));
    }
  }

  private config(xml: string) {
    try {
      return parseDomainXml(xml);
    } catch (e) {
      if (e instanceof ConfigError) throw new DaemonError('InvalidConfig', e.message);
      throw e;
    }
  }

  private changed(domain: string, state: string): void {
    this.bus.send(Message.newSignal(OBJECT_PATH, MANAGER_IFACE, 'AssignmentChanged', 'ss', [domain, state]));
  }

  private result(s: DomainStatus): unknown[] {
    return [s.state, planeStructs(s.plan, s.sources), s.notes];
  }

  private async dispatch(msg: Msg): Promise<[string, unknown[]]> {
    const iface = msg.interface;
    const b = msg.body as string[];
    if (iface === 'org.freedesktop.DBus.Introspectable' && msg.member === 'Introspect') return ['s', [this.xml]];
    if (iface === 'org.freedesktop.DBus.Properties') return this.properties(msg);
    if (iface === SIMULATOR_IFACE && msg.member === 'Screenshot' && this.screenshot) return ['ay', [this.screenshot(b[0])]];
    if (iface && iface !== MANAGER_IFACE) throw new DaemonError('Refused', `no interface ${iface} here`);
    const OUT = 'sa(ssuusss(iiuu)i)as';
    switch (msg.member) {
      case 'Prepare': {
        const c = this.config(b[1]);
        if (!c.configured) return [OUT, ['unconfigured', [], []]];
        const s = await this.engine.prepare(c);
        this.changed(c.name, s.state);
        return [OUT, this.result(s)];
      }
      case 'Activate': {
        const c = this.config(b[1]);
        if (!c.configured) return [OUT, ['unconfigured', [], []]];
        const known = this.engine.status().some((s) => s.domain === b[0]);
        if (!known) await this.engine.prepare(c); // the daemon restarted between prepare and started
        const s = await this.engine.activate(b[0], c);
        this.changed(b[0], s.state);
        return [OUT, this.result(s)];
      }
      case 'Release': {
        const r = await this.engine.release(b[0], b[1]);
        this.changed(b[0], r.state);
        return ['sas', [r.state, r.notes]];
      }
      case 'Reconnect':
        return ['sas', await this.reconnect(b[0], b[1])];
      case 'Status':
        return ['a(ssa(ssuusss(iiuu)i)as)', [this.engine.status().map((s) => [s.domain, ...this.result(s)])]];
      case 'Streams':
        return [
          'a(sssssuuut)',
          [this.engine.status().flatMap((d) => d.streams.map((x) => [d.domain, x.plane, x.source, x.state, x.detail, x.received, x.flipped, x.dropped, BigInt(x.bytesCopied)]))],
        ];
      default:
        throw new DaemonError('Refused', `no method ${msg.member} on ${MANAGER_IFACE}`);
    }
  }

  /** libvirtd restarted: re-adopt if we lost the domain; never an error (that would kill the VM). */
  private async reconnect(name: string, xml: string): Promise<[string, string[]]> {
    try {
      const known = this.engine.status().find((s) => s.domain === name);
      if (known) return [known.state, ['still assigned']];
      const c = this.config(xml);
      if (!c.configured) return ['unconfigured', []];
      await this.engine.prepare(c);
      const s = await this.engine.activate(name);
      this.changed(name, s.state);
      return [s.state, ['re-adopted at reconnect']];
    } catch (e) {
      this.log('warning', name, `reconnect could not re-adopt it: ${(e as Error).message}`);
      return ['failed', [(e as Error).message]];
    }
  }

  private properties(msg: Msg): [string, unknown[]] {
    const props: Record<string, string> = { Version: this.info.version, Host: this.info.host };
    const b = msg.body as string[];
    if (msg.member === 'Get') {
      if (b[0] !== MANAGER_IFACE || !(b[1] in props)) throw new DaemonError('Refused', `no property ${b[0]}.${b[1]}`);
      return ['v', [new Variant('s', props[b[1]])]];
    }
    if (msg.member === 'GetAll') return ['a{sv}', [b[0] === MANAGER_IFACE ? Object.fromEntries(Object.entries(props).map(([k, v]) => [k, new Variant('s', v)])) : {}]];
    throw new DaemonError('Refused', 'properties are read-only');
  }
}
