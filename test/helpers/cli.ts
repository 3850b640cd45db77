import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './fixtures';

export const BIN = join(REPO, 'bin', 'directflip');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (dist/ is built by the jest global setup). */
export function runCli(args: string[], input?: string | Buffer): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A stack trace in output means an error escaped the one error convention. */
export const STACK_RE = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;
