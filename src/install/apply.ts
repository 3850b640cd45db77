import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { InstallFile } from './plan';
import { MANIFEST, sha256 } from './plan';

interface Manifest {
  files: { path: string; sha256: string }[];
}

/** The manifest is a file on disk like any other: a damaged one is named, not trusted. */
function readManifest(path: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw Object.assign(new Error(`${path} is not the manifest install writes (${e instanceof Error ? e.message : String(e)}): remove it and install again`), { code: 'EDF_MANIFEST' });
  }
  const files = (m as { files?: unknown } | null)?.files;
  const ok = Array.isArray(files) && files.every((f) => typeof (f as Manifest['files'][number])?.path === 'string' && typeof (f as Manifest['files'][number])?.sha256 === 'string');
  if (!ok) throw Object.assign(new Error(`${path} is not the manifest install writes (no files list of path and sha256): remove it and install again`), { code: 'EDF_MANIFEST' });
  return { files: files as Manifest['files'] };
}

function atomicWrite(path: string, content: Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.directflip-tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Writes the files and a manifest of exactly what was written, so uninstall removes only that. */
export function applyInstall(prefix: string, files: InstallFile[]): void {
  const manifestPath = join(prefix, MANIFEST);
  const old: Manifest = existsSync(manifestPath) ? readManifest(manifestPath) : { files: [] };
  for (const f of files) atomicWrite(f.path, f.content, f.mode);
  const paths = new Set(files.map((f) => f.path));
  const manifest: Manifest = { files: [...old.files.filter((f) => !paths.has(f.path)), ...files.map((f) => ({ path: f.path, sha256: sha256(f.content) }))] };
  atomicWrite(manifestPath, Buffer.from(JSON.stringify(manifest, null, 1)), 0o644);
}

export interface UninstallResult {
  removed: string[];
  /** Changed since install: left in place, named so the admin can decide. */
  kept: string[];
  missing: string[];
}

export function applyUninstall(prefix: string, dryRun: boolean): UninstallResult {
  const manifestPath = join(prefix, MANIFEST);
  if (!existsSync(manifestPath)) throw Object.assign(new Error(`nothing to uninstall: no ${manifestPath} (was directflip installed with this --prefix?)`), { code: 'ENOENT' });
  const m = readManifest(manifestPath);
  const r: UninstallResult = { removed: [], kept: [], missing: [] };
  for (const f of m.files) {
    if (!existsSync(f.path)) r.missing.push(f.path);
    else if (sha256(readFileSync(f.path)) !== f.sha256) r.kept.push(f.path);
    else {
      if (!dryRun) rmSync(f.path);
      r.removed.push(f.path);
    }
  }
  if (!dryRun) rmSync(manifestPath);
  return r;
}
