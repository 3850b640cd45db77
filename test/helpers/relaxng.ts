import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Element } from '@xmldom/xmldom';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './fixtures';

export const SCHEMA = join(REPO, 'schema', 'directflip.rng');

/** Every element in <metadata> that claims a directflip namespace, serialised on its own. */
export function directflipElements(xml: string): string[] | null {
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) return null;
  let root: Element | null = null;
  try {
    root = new DOMParser({ onError: () => { throw new Error('malformed'); } }).parseFromString(xml, 'text/xml').documentElement;
  } catch {
    return null;
  }
  const out: string[] = [];
  for (let m = root?.firstChild; m; m = m.nextSibling) {
    if (m.nodeType !== 1 || (m as Element).localName !== 'metadata') continue;
    for (let c = m.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1 && /directflip\.github\.io/.test((c as Element).namespaceURI ?? '')) {
        out.push(new XMLSerializer().serializeToString(c));
      }
    }
  }
  return out;
}

/** Runs xmllint once over many documents; true where the schema accepts the document. */
export function relaxngAccepts(docs: string[]): boolean[] {
  if (docs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'directflip-rng-'));
  try {
    const files = docs.map((d, i) => {
      const f = join(dir, `doc${i}.xml`);
      writeFileSync(f, d);
      return f;
    });
    const r = spawnSync('xmllint', ['--noout', '--relaxng', SCHEMA, ...files], { encoding: 'utf8' });
    if (r.error) throw new Error(`xmllint could not run (${r.error.message}): install the Debian package libxml2-utils`);
    return files.map((f) => new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} validates$`, 'm').test(r.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
