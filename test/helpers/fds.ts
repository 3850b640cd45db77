import { readdirSync, readlinkSync } from 'node:fs';

/** This process's open fds, each with what it refers to (`memfd:fuzz (deleted)`, `socket:[123]`…). */
export function fdSnapshot(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed while we looked (the directory's own fd, or another part of the process)
    }
  }
  return out;
}

/**
 * The fds open now that were not open, as the same file, at `before`. Unlike comparing counts,
 * an fd something else in the process closed meanwhile cannot hide one the code under test left
 * open, nor make a clean run look like a leak.
 */
export function fdsOpenedSince(before: Map<string, string>): string[] {
  return [...fdSnapshot()].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} → ${target}`);
}
