/** One error convention for every command: a `CliError` knows its exit code and its advice. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonReplacer, 2) + '\n');
}

/** bigint is not JSON; kernel values are 64-bit, so print them as decimal strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Prints a failure for a person (stderr) or a program (stdout JSON); returns the exit code. */
export function reportFailure(e: unknown, json: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const exitCode = err instanceof CliError ? err.exitCode : 1;
  if (json) {
    const code = (err as { code?: unknown }).code;
    const details = err instanceof CliError && err.details && typeof err.details === 'object' ? err.details : {};
    printJson({ ok: false, error: { ...(typeof code === 'string' ? { code } : {}), ...details, message: err.message } });
  } else {
    process.stderr.write(`directflip: ${err.message}\n`);
    if (!(err instanceof CliError) && !(err as { code?: unknown }).code && process.env.DIRECTFLIP_DEBUG) {
      process.stderr.write(`${err.stack}\n`);
    }
  }
  return exitCode;
}
