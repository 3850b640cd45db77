type Cleanup = () => void | Promise<void>;

const pending = new Set<Cleanup>();
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type Sig = keyof typeof SIGNALS;
let stopping = false;

const listeners = Object.fromEntries(
  (Object.keys(SIGNALS) as Sig[]).map((sig) => [sig, () => void interrupted(sig)]),
) as Record<Sig, () => void>;

/** Runs every cleanup (bounded, so a stuck one cannot keep the user waiting) and exits 128+signal. */
async function interrupted(sig: Sig): Promise<void> {
  // A second Ctrl-C while cleaning up means: stop now.
  if (stopping) process.exit(SIGNALS[sig]);
  stopping = true;
  const all = [...pending].map((f) => Promise.resolve().then(f).catch(() => undefined));
  await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 10_000).unref())]);
  process.exit(SIGNALS[sig]);
}

/**
 * What a command made that must not outlive it (temporary directories, child processes) is
 * undone when SIGINT, SIGTERM or SIGHUP ends it early. The signals are caught only while
 * something is registered, so a command that handles them itself (`daemon`) is left alone.
 * Returns the function that unregisters it, for when the command has cleaned up itself.
 */
export function cleanupOnInterrupt(f: Cleanup): () => void {
  if (pending.size === 0) for (const sig of Object.keys(SIGNALS) as Sig[]) process.on(sig, listeners[sig]);
  pending.add(f);
  return () => {
    pending.delete(f);
    if (pending.size === 0 && !stopping) for (const sig of Object.keys(SIGNALS) as Sig[]) process.off(sig, listeners[sig]);
  };
}

/**
 * A reader that went away (`directflip status | head -1`) is not a failure: what it wanted it
 * has. Exit 0 at once, with no EPIPE stack; any other stdout error is said in one line.
 */
export function quietOnClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    process.stderr.write(`directflip: cannot write to standard output: ${e.code ?? e.message}\n`);
    process.exit(1);
  });
}
