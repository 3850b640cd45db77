import { DRM_CONNECTOR_TYPE_NAMES } from '../util/connector-types';
import { ConfigError } from './errors';
import type { ModeSpec } from './types';

/**
 * Attribute value rules, shared by the parser and mirrored by schema/directflip.rng. Each returns
 * the typed value or throws a ConfigError naming what is allowed.
 */

export interface Where {
  path: string;
  attribute: string;
}

function bad(w: Where, value: string, message: string, allowed: string): ConfigError {
  return new ConfigError('EDF_BAD_VALUE', message, { ...w, value, allowed });
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_EXAMPLE = 'c2177883-f1bb-47f0-914d-32a22e3a8804';

/** Only the canonical form: UUIDs become sysfs path components, so nothing else gets near one. */
export function uuid(w: Where, v: string): string {
  if (!UUID_RE.test(v)) {
    throw bad(w, v, 'is not a canonical lower-case UUID', `8-4-4-4-12 lower-case hex digits, e.g. ${UUID_EXAMPLE}`);
  }
  return v;
}

const CONNECTOR_TYPES = Object.values(DRM_CONNECTOR_TYPE_NAMES);
const CONNECTOR_RE = new RegExp(`^(${CONNECTOR_TYPES.map((t) => t.replace(/-/g, '\\-')).join('|')})-([1-9][0-9]{0,2})$`);

export function connector(w: Where, v: string): string {
  if (!CONNECTOR_RE.test(v)) {
    throw bad(w, v, 'is not a KMS connector name', 'TYPE-N as drm_info and /sys/class/drm show it, e.g. HDMI-A-1, DP-2, eDP-1, Virtual-1');
  }
  return v;
}

const CARD_RE = /^\/dev\/dri\/card(0|[1-9][0-9]{0,2})$/;
const BY_PATH_RE = /^\/dev\/dri\/by-path\/[A-Za-z0-9:_+-][A-Za-z0-9:._+-]{0,199}$/;

/**
 * A DRM card node and nothing else: no other directory, no render node. A by-path name holds no
 * `/` and cannot start with `.`, so it can never be `.` or `..`.
 */
export function card(w: Where, v: string): string {
  if (!CARD_RE.test(v) && !BY_PATH_RE.test(v)) {
    throw bad(w, v, 'is not a DRM card path', '/dev/dri/cardN or /dev/dri/by-path/NAME (e.g. /dev/dri/by-path/pci-0000:00:02.0-card)');
  }
  return v;
}

const MODE_RE = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})(?:@([1-9][0-9]{0,2}(?:\.[0-9]{1,3})?))?$/;
export const MAX_DIMENSION = 16384;

export function mode(w: Where, v: string): ModeSpec {
  if (v === 'preferred') return { kind: 'preferred' };
  const m = MODE_RE.exec(v);
  const allowed = `WIDTHxHEIGHT[@HZ] (e.g. 1920x1080@60, 2560x1440, 1920x1080@59.94) or preferred; sizes 1..${MAX_DIMENSION}`;
  if (!m) throw bad(w, v, 'is not a mode', allowed);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width > MAX_DIMENSION || height > MAX_DIMENSION) throw bad(w, v, 'is larger than any KMS mode', allowed);
  return { kind: 'exact', width, height, refresh: m[3] === undefined ? null : Number(m[3]) };
}

export function oneOf<T extends string>(w: Where, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw bad(w, v, 'is not allowed', allowed.join(', '));
  return v as T;
}

/** Plain decimal integers only: no sign, no exponent, no hex, no leading zeros. */
export function integer(w: Where, v: string, min: number, max: number): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(v) || Number(v) < min || Number(v) > max) {
    throw bad(w, v, 'is not an integer in range', `a decimal integer from ${min} to ${max}`);
  }
  return Number(v);
}
