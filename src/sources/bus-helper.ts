/**
 * The per-VM bus helper, a child of the daemon running as the uid that owns the VM's D-Bus
 * socket (libvirt's private bus admits only that uid and drops root). It finds the console,
 * hands QEMU fd 3 — one end of the daemon's socketpair — with RegisterListener, reports one
 * JSON line on stdout, and stays on the bus until its stdin closes, as QEMU ties the listener
 * to its registrant. It never touches DRM; QEMU's pictures go straight to the daemon.
 */
import { closeSync } from 'node:fs';
import { connectBus, listConsoles, pickConsole } from './display-bus';
import type { ConsoleWanted } from './display-bus';

const LISTENER_FD = 3;
const TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const [address, wantJson] = process.argv.slice(2);
  const want = JSON.parse(wantJson) as ConsoleWanted;
  const bus = await connectBus(address, TIMEOUT_MS);
  bus.on('close', () => process.exit(0));
  const { console: c, why } = pickConsole(await listConsoles(bus, TIMEOUT_MS), want);
  await bus.call({ destination: 'org.qemu', path: `/org/qemu/Display1/Console_${c.index}`, interface: 'org.qemu.Display1.Console', member: 'RegisterListener', signature: 'h', body: [LISTENER_FD] }, TIMEOUT_MS);
  // QEMU holds its own copy now; ours would keep the link open after QEMU dies, hiding its end.
  closeSync(LISTENER_FD);
  process.stdout.write(`${JSON.stringify({ ok: true, console: c, why })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`);
  process.exit(1);
});
