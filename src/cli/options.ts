import { normalize } from 'node:path';

/** An option value yargs was given that cannot be right: a usage error (exit 2), said before anything runs. */
export class UsageError extends Error {
  readonly code = 'EUSAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The last value when an option is given twice, as yargs' own scalar options behave. */
export function last(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** `--svg FILE`'s coerce: given twice, the last counts (yargs' `normalize` throws on the array). */
export function svgFileArg(v: unknown): string {
  return normalize(String(last(v)));
}

/** `--NAME` as a whole number > 0, read from the text the user typed (yargs' number type turns `abc` into NaN). */
export function positiveInteger(name: string, unit: string) {
  return (raw: unknown): number => {
    const v = last(raw);
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
    if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      throw new UsageError(`--${name} takes a positive whole number of ${unit}, e.g. --${name} 5000; ${JSON.stringify(v ?? '')} is not one`);
    }
    return Number(text);
  };
}

const TRANSPORTS = 'unix:path=/run/dbus/system_bus_socket or tcp:host=HOST,port=PORT';

/** One `transport:key=value,…` element of a D-Bus address (D-Bus specification, "Server Addresses"). */
function checkOne(a: string): string | null {
  const m = /^([a-z]+):(.*)$/.exec(a);
  if (!m) return `${JSON.stringify(a)} has no transport: a D-Bus address looks like ${TRANSPORTS}`;
  const params = new Map<string, string>();
  for (const kv of m[2].split(',')) {
    const eq = kv.indexOf('=');
    const [k, v] = eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
    if (!/^[a-z]+$/.test(k) || !v || /[\s;=]/.test(v)) return `${JSON.stringify(kv)} in ${JSON.stringify(a)} is not key=value`;
    params.set(k, v);
  }
  const only = (keys: string[]) => [...params.keys()].find((k) => !keys.includes(k));
  if (m[1] === 'unix') {
    const ways = ['path', 'abstract'].filter((k) => params.has(k));
    if (ways.length !== 1 || only(['path', 'abstract', 'guid'])) return `${JSON.stringify(a)}: a unix address names exactly one of path= or abstract=`;
    // dbus-next reaches abstract sockets only through the optional usocket module, not shipped.
    if (params.has('abstract')) return `${JSON.stringify(a)}: abstract sockets are not supported (dbus-next needs its optional usocket module for them); give the socket's path as unix:path=…`;
    return null;
  }
  if (m[1] === 'tcp') {
    const port = Number(params.get('port'));
    if (!Number.isInteger(port) || port < 1 || port > 65535 || only(['host', 'port', 'family', 'guid'])) return `${JSON.stringify(a)}: a tcp address needs port=1…65535 (and host=, family= at most)`;
    return null;
  }
  return `${JSON.stringify(a)}: transport ${m[1]} is not one directflip can use (${TRANSPORTS})`;
}

/**
 * `--bus`: a D-Bus address (several may be joined with `;`, tried in turn). Only the transports
 * dbus-next speaks; notably not `unixexec:`, which would run a program named by the address.
 */
export function busAddressValue(raw: unknown): string | undefined {
  const v = last(raw);
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v : '';
  if (!text) throw new UsageError(`--bus needs an address, e.g. ${TRANSPORTS}`);
  for (const a of text.split(';')) {
    const why = checkOne(a);
    if (why) throw new UsageError(`--bus: ${why}`);
  }
  return text;
}
