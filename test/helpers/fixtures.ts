import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseDomainXml } from '../../src/config';

export const CONFIG_FIXTURES = join(__dirname, '..', 'fixtures', 'config');
export const REPO = join(__dirname, '..', '..');

export interface Fixture {
  name: string;
  file: string;
  xml: string;
}

export function configFixtures(): Fixture[] {
  return readdirSync(CONFIG_FIXTURES)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((f) => ({ name: f.slice(0, -4), file: join(CONFIG_FIXTURES, f), xml: readFileSync(join(CONFIG_FIXTURES, f), 'utf8') }));
}

/** What a fixture's golden file records: the config, or the exact error. */
export function outcome(xml: string): { ok: true; config: unknown } | { ok: false; error: Record<string, unknown> } {
  try {
    return { ok: true, config: JSON.parse(JSON.stringify(parseDomainXml(xml))) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.toJSON() };
    throw e;
  }
}
