/** The daemon's refusals, by the D-Bus error names in io.github.directflip1.Manager.xml. */
export type DaemonErrorName = 'InvalidConfig' | 'InvalidArgs' | 'Refused' | 'CommitFailed' | 'NotPrepared' | 'Device' | 'AccessDenied' | 'Journal' | 'ShuttingDown';

/** Standard D-Bus names where one exists; the rest are ours. */
const STANDARD: Partial<Record<DaemonErrorName, string>> = { InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs' };

export class DaemonError extends Error {
  constructor(
    readonly kind: DaemonErrorName,
    message: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }

  get dbusName(): string {
    return STANDARD[this.kind] ?? `io.github.directflip1.Error.${this.kind}`;
  }
}
