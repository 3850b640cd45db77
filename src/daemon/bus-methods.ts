import { DOMParser } from '@xmldom/xmldom';
import { MANAGER_IFACE, SIMULATOR_IFACE } from './names';
import { SIM_CONTROL_SPECS } from './sim-controls';

/** A refusal with a standard or directflip D-Bus error name; its message is all a caller sees. */
export class BusRefusal extends Error {
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusRefusal';
  }
}

export const DBUS_ERROR = 'org.freedesktop.DBus.Error';

/** What a method takes and gives, by the introspection XML: in-signature, its arg names, out-signature. */
export interface MethodSpec {
  iface: string;
  member: string;
  in: string;
  inNames: string[];
  out: string;
}

/** The standard interfaces' signatures (D-Bus specification), which the repo's XML does not repeat. */
const STANDARD: MethodSpec[] = [
  { iface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect', in: '', inNames: [], out: 's' },
  { iface: 'org.freedesktop.DBus.Properties', member: 'Get', in: 'ss', inNames: ['interface_name', 'property_name'], out: 'v' },
  { iface: 'org.freedesktop.DBus.Properties', member: 'GetAll', in: 's', inNames: ['interface_name'], out: 'a{sv}' },
  { iface: 'org.freedesktop.DBus.Properties', member: 'Set', in: 'ssv', inNames: ['interface_name', 'property_name', 'value'], out: '' },
  { iface: 'org.freedesktop.DBus.Peer', member: 'Ping', in: '', inNames: [], out: '' },
];

/** Served only by a daemon on a simulated host, so it is not in the Manager contract's XML. */
const SIMULATOR: MethodSpec[] = [{ iface: SIMULATOR_IFACE, member: 'Screenshot', in: 's', inNames: ['connector'], out: 'ay' }, ...SIM_CONTROL_SPECS];

/** The methods and properties the XML declares, read at start so a signature change in the XML is what is enforced. */
export class MethodTable {
  private readonly methods = new Map<string, MethodSpec>();
  readonly properties = new Map<string, { iface: string; type: string }>();

  constructor(xml: string, opts: { simulator: boolean }) {
    // The repo's XML documents its contract in comments that are not all well-formed XML
    // (a `--` inside): they say nothing about signatures, so they are dropped before parsing.
    const doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(`the introspection XML does not parse: ${message}`);
      },
    }).parseFromString(xml.replace(/<!--[\s\S]*?-->/g, ''), 'text/xml');
    for (const iface of Array.from(doc.getElementsByTagName('interface'))) {
      const ifaceName = iface.getAttribute('name') ?? '';
      for (const m of Array.from(iface.getElementsByTagName('method'))) {
        const args = Array.from(m.getElementsByTagName('arg'));
        const ins = args.filter((a) => (a.getAttribute('direction') ?? 'in') === 'in');
        const outs = args.filter((a) => a.getAttribute('direction') === 'out');
        this.add({
          iface: ifaceName,
          member: m.getAttribute('name') ?? '',
          in: ins.map((a) => a.getAttribute('type') ?? '').join(''),
          inNames: ins.map((a, i) => a.getAttribute('name') || `arg${i}`),
          out: outs.map((a) => a.getAttribute('type') ?? '').join(''),
        });
      }
      for (const p of Array.from(iface.getElementsByTagName('property'))) this.properties.set(p.getAttribute('name') ?? '', { iface: ifaceName, type: p.getAttribute('type') ?? '' });
    }
    for (const s of STANDARD) this.add(s);
    if (opts.simulator) for (const s of SIMULATOR) this.add(s);
  }

  private add(s: MethodSpec): void {
    this.methods.set(`${s.iface}.${s.member}`, s);
  }

  all(): MethodSpec[] {
    return [...this.methods.values()];
  }

  /**
   * The method a call names. D-Bus lets a call omit its interface: the member is then looked
   * up in the Manager interface first, then in the others.
   */
  lookup(iface: string | undefined, member: string): MethodSpec {
    if (iface) {
      const s = this.methods.get(`${iface}.${member}`);
      if (s) return s;
      if (!this.all().some((m) => m.iface === iface)) throw new BusRefusal(`${DBUS_ERROR}.UnknownInterface`, `no interface ${iface} on directflipd`);
      throw new BusRefusal(`${DBUS_ERROR}.UnknownMethod`, `no method ${member} in ${iface}`);
    }
    const s = this.methods.get(`${MANAGER_IFACE}.${member}`) ?? this.all().find((m) => m.member === member);
    if (!s) throw new BusRefusal(`${DBUS_ERROR}.UnknownMethod`, `no method ${member} on directflipd`);
    return s;
  }

  /** The call's body by the XML's argument names, once its signature is exactly the declared one. */
  check(spec: MethodSpec, signature: string | undefined, body: unknown[] | undefined): Record<string, unknown> {
    const got = signature ?? '';
    if (got !== spec.in) {
      throw new BusRefusal(`${DBUS_ERROR}.InvalidArgs`, `${spec.iface}.${spec.member} takes signature "${spec.in}", but the call has "${got}": pass exactly those arguments`);
    }
    return Object.fromEntries(spec.inNames.map((n, i) => [n, (body ?? [])[i]]));
  }
}
