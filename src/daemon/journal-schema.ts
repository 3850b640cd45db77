/**
 * The shape a journal record must have before the daemon acts on it. A record is the daemon's own
 * output, but the file lives on disk across restarts and versions: anything else (a truncated
 * write, a hand edit, an older format) must be refused with where it is wrong, never half-used.
 * Hand-written (a dozen combinators) rather than a schema library: no dependency for one shape.
 * Unknown extra keys are allowed, so a newer field never condemns a record an older reader wrote.
 */
export class SchemaError extends Error {
  readonly code = 'EDF_JOURNAL_SCHEMA';
}

type Check = (v: unknown, at: string) => void;

const fail = (at: string, what: string, v: unknown): never => {
  const shown = v === undefined ? 'missing' : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))?.slice(0, 60) ?? typeof v;
  throw new SchemaError(`${at || 'record'}: expected ${what}, found ${shown}`);
};

const str: Check = (v, at) => void (typeof v === 'string' || fail(at, 'a string', v));
const bool: Check = (v, at) => void (typeof v === 'boolean' || fail(at, 'true or false', v));
const num: Check = (v, at) => void ((typeof v === 'number' && Number.isFinite(v)) || fail(at, 'a number', v));
const int: Check = (v, at) => void (Number.isSafeInteger(v) || fail(at, 'an integer', v));
const uint: Check = (v, at) => void ((Number.isSafeInteger(v) && (v as number) >= 0) || fail(at, 'a non-negative integer', v));
const decimal: Check = (v, at) => void ((typeof v === 'string' && /^-?\d{1,20}$/.test(v)) || fail(at, 'a decimal string', v));
const oneOf = (...allowed: string[]): Check => (v, at) => void (allowed.includes(v as string) || fail(at, allowed.map((a) => JSON.stringify(a)).join(' or '), v));
const nullable = (c: Check): Check => (v, at) => (v === null ? undefined : c(v, at));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const arr = (c: Check): Check => (v, at) => {
  if (!Array.isArray(v)) fail(at, 'a list', v);
  (v as unknown[]).forEach((x, i) => c(x, `${at}[${i}]`));
};
const map = (c: Check): Check => (v, at) => {
  if (!isObj(v)) fail(at, 'an object', v);
  for (const [k, x] of Object.entries(v as object)) c(x, `${at}.${k}`);
};
/** Keys ending in `?` may be absent. */
const obj = (shape: Record<string, Check>): Check => (v, at) => {
  if (!isObj(v)) fail(at, 'an object', v);
  for (const [key, c] of Object.entries(shape)) {
    const optional = key.endsWith('?');
    const k = optional ? key.slice(0, -1) : key;
    const x = (v as Record<string, unknown>)[k];
    if (optional && x === undefined) continue;
    c(x, at ? `${at}.${k}` : k);
  }
};

const rect = obj({ x: num, y: num, w: num, h: num });
const mode = obj({
  clock: uint, hdisplay: uint, hsyncStart: uint, hsyncEnd: uint, htotal: uint, hskew: uint,
  vdisplay: uint, vsyncStart: uint, vsyncEnd: uint, vtotal: uint, vscan: uint, vrefresh: uint, flags: uint, type: uint, name: str,
});
const plane = obj({
  key: str, from: oneOf('primary', 'cursor'), planeId: uint, planeType: oneOf('primary', 'overlay', 'cursor'),
  fbId: uint, src: rect, dst: rect, zpos: nullable(int), setZpos: bool,
});
const output = obj({ key: str, connectorId: uint, connector: str, crtcId: uint, crtcIndex: uint, mode, modeset: bool, planes: arr(plane) });
const plan = obj({ domain: str, outputs: arr(output), testOnlyCommits: uint, elapsedMs: num, searchMs: num, verified: bool });
const holding = obj({ domain: str, planes: arr(uint), crtcs: arr(uint), connectors: arr(uint), modeOwner: arr(uint) });
const snapshot = obj({ kind: oneOf('crtc', 'connector', 'plane'), id: uint, props: map(decimal), 'mode?': nullable(str), 'restore?': oneOf('previous', 'off') });
const display = obj({
  address: nullable(str),
  wants: map(obj({ console: nullable(int), pci: nullable(str) })),
  'geometry?': map(oneOf('planned', 'guest')),
});
const uuid: Check = (v, at) => void ((typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v)) || fail(at, 'a lower-case UUID', v));

export const RECORD_STATES = ['prepared', 'activating', 'active', 'restore-pending'] as const;

const record = obj({
  uuid, name: str, state: oneOf(...RECORD_STATES), restore: oneOf('previous', 'off'),
  plan, sources: map(obj({ source: str, why: str })), 'mdevs?': map(str), 'display?': display,
  holding, snapshots: arr(snapshot), updated: str,
});

/** Throws SchemaError naming the first wrong field. */
export function checkRecord(v: unknown): void {
  record(v, '');
}
