import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './fixtures';

export const NOBODY = 65534;

/**
 * A script run as uid/gid nobody. The checkout need not be readable by nobody, so the script is
 * bundled with what it requires (dbus-next) into one file in a world-readable temporary
 * directory. `source` is CommonJS that may `require('dbus-next')`.
 */
export class NobodyScript {
  readonly dir = mkdtempSync(join(tmpdir(), 'directflip-nobody-'));
  readonly file = join(this.dir, 'script.js');

  constructor(source: string) {
    chmodSync(this.dir, 0o755);
    const entry = join(this.dir, 'entry.js');
    writeFileSync(entry, source);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', outfile: this.file, nodePaths: [join(REPO, 'node_modules')], external: ['usocket', 'x11'], logLevel: 'error' });
    chmodSync(this.file, 0o644);
  }

  /** Runs it to the end without blocking this process (a daemon's log is read meanwhile). */
  run(args: string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const p = this.spawn(args);
    p.stdin!.end();
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    return new Promise((res) => p.once('close', (status) => res({ status, stdout, stderr })));
  }

  spawn(args: string[] = []): ChildProcess {
    return spawn(process.execPath, [this.file, ...args], { uid: NOBODY, gid: NOBODY, cwd: this.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
