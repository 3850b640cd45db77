/**
 * A tiny hand-written validator: each check names the path it looked at and what it expected,
 * never the value it found, so an error about a file that is not a profile repeats nothing of it.
 */

export class ProfileError extends Error {
  readonly code = 'EDF_PROFILE';
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

export type Check = (v: unknown, at: string) => void;

/** `at` is the path inside the profile ("kms.planesPerCrtc[3].formats"); "" is the whole profile. */
export function fail(at: string, expected: string): never {
  throw new ProfileError(`${at || 'the profile'}: expected ${expected}`);
}

const key = (at: string, k: string) => (at ? `${at}.${k}` : k);

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const str = (max = 256, re?: RegExp, what?: string): Check => (v, at) => {
  if (typeof v !== 'string' || v.length > max || (re && !re.test(v))) fail(at, `${what ?? `a string of at most ${max} characters`}, not ${typeof v === 'string' ? 'that string' : kind(v)}`);
};

export const int = (min: number, max: number): Check => (v, at) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(at, `an integer from ${min} to ${max}${typeof v === 'number' ? '' : `, not ${kind(v)}`}`);
};

export const bool: Check = (v, at) => {
  if (typeof v !== 'boolean') fail(at, `true or false, not ${kind(v)}`);
};

export const oneOf = (values: readonly (string | number | null)[], what?: string): Check => (v, at) => {
  if (!values.includes(v as string)) fail(at, what ?? `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
};

export const arr = (item: Check, max: number, min = 0, what?: string): Check => (v, at) => {
  if (!Array.isArray(v)) fail(at, `${what ?? 'an array'}, not ${kind(v)}`);
  if (v.length < min || v.length > max) fail(at, `${what ?? 'an array'} of ${min} to ${max} entries`);
  v.forEach((x, i) => item(x, `${at}[${i}]`));
};

export const either = (a: Check, b: Check, what: string): Check => (v, at) => {
  try {
    a(v, at);
  } catch {
    try {
      b(v, at);
    } catch {
      fail(at, what);
    }
  }
};

/** An object with exactly these keys: `req` must be there, `opt` may be. Unknown keys are refused (unnamed). */
export const obj = (req: Record<string, Check>, opt: Record<string, Check> = {}): Check => (v, at) => {
  if (!isObject(v)) fail(at, `an object, not ${kind(v)}`);
  for (const [k, c] of Object.entries(req)) {
    if (!(k in v)) fail(key(at, k), 'to be present');
    c(v[k], key(at, k));
  }
  for (const [k, c] of Object.entries(opt)) if (k in v && v[k] !== undefined) c(v[k], key(at, k));
  const known = new Set([...Object.keys(req), ...Object.keys(opt)]);
  const unknown = Object.keys(v).filter((k) => !known.has(k)).length;
  if (unknown) fail(at, `only the keys ${[...known].join(', ')} (${unknown} other key${unknown > 1 ? 's' : ''} found)`);
};
