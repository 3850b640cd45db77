import { spawn } from 'node:child_process';
import { closeSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { socketPair } from '../kernel/native-socket';
import { PeerLink } from './dbus-peer';
import type { ConsoleInfo, ConsoleWanted } from './display-bus';
import { withTimeout } from '../util/timeout';
import { unixPath } from './display-bus';

export interface Attached {
  link: PeerLink;
  console: ConsoleInfo;
  why: string;
  /** Ends the helper, which leaves the bus; QEMU then drops the listener. */
  detach(): void;
}

/** The compiled helper: beside this file when compiled, under dist/ when run from sources. */
function helperScript(): string {
  const here = join(__dirname, 'bus-helper.js');
  return existsSync(here) ? here : resolve(__dirname, '..', '..', 'dist', 'src', 'sources', 'bus-helper.js');
}

/**
 * Registers this process as a listener of one console of the VM's D-Bus display. The bus part
 * runs in a helper with the bus socket owner's uid and gid (root is refused there); the
 * listener link is a socketpair whose other end the helper hands to QEMU. QEMU authenticates
 * on it as the server while RegisterListener is pending, so our side runs concurrently.
 */
export async function attachDisplay(address: string, want: ConsoleWanted, timeoutMs = 10_000): Promise<Attached> {
  const socket = unixPath(address);
  const st = statSync(socket);
  const [mine, theirs] = socketPair();
  const asOwner = process.getuid?.() === 0 && st.uid !== 0 ? { uid: st.uid, gid: st.gid } : {};
  const child = spawn(process.execPath, [helperScript(), address, JSON.stringify(want)], { stdio: ['pipe', 'pipe', 'pipe', theirs], cwd: '/', ...asOwner });
  closeSync(theirs); // the helper and then QEMU hold their own copies
  const link = new PeerLink(mine, 'client');
  const detach = () => {
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const report = new Promise<Report>((res, rej) => {
    let out = '';
    let said = false;
    child.stdout?.on('data', (d: Buffer) => {
      if (said) return; // one line is all it says
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0 && out.length < 65536) return;
      try {
        res(readReport(out.slice(0, nl < 0 ? out.length : nl)));
      } catch {
        rej(new Error(`the bus helper said something unreadable: ${out.slice(0, Math.min(nl < 0 ? out.length : nl, 200))}`));
      }
      said = true;
    });
    child.on('error', rej);
    child.on('exit', (code) => rej(new Error(`the bus helper exited (${code}) before reporting${stderr ? `: ${stderr.trim()}` : ''}`)));
  });
  try {
    const opened = link.open();
    opened.catch(() => undefined); // awaited below; a failed report closes the link first
    const r = await withTimeout(report, timeoutMs, 'attaching to the display');
    if (!r.ok) throw new Error(r.error);
    await withTimeout(opened, timeoutMs, 'listener link authentication');
    return { link, console: r.console, why: r.why, detach };
  } catch (e) {
    link.close();
    detach();
    throw e;
  }
}

type Report = { ok: true; console: ConsoleInfo; why: string } | { ok: false; error: string };

/** The helper's one line, of exactly the shape it writes; anything else throws. */
function readReport(line: string): Report {
  const r = JSON.parse(line) as unknown;
  const o = typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : {};
  if (o.ok === false && typeof o.error === 'string') return { ok: false, error: o.error };
  const c = typeof o.console === 'object' && o.console !== null ? (o.console as Record<string, unknown>) : {};
  const nums = ['index', 'head', 'width', 'height'].every((k) => typeof c[k] === 'number');
  const strs = ['label', 'type', 'deviceAddress'].every((k) => typeof c[k] === 'string');
  if (o.ok === true && typeof o.why === 'string' && nums && strs) return { ok: true, console: c as unknown as ConsoleInfo, why: o.why };
  throw new Error('not a report');
}
