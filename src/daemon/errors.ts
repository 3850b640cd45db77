/** The daemon's refusals, by the D-Bus error names in io.github.directflip1.Manager.xml. */
export type DaemonErrorName = 'InvalidConfig' | 'Refused' | 'CommitFailed' | 'NotPrepared' | 'Device' | 'AccessDenied';

export class DaemonError extends Error {
  constructor(
    readonly kind: DaemonErrorName,
    message: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }

  get dbusName(): string {
    return `io.github.directflip1.Error.${this.kind}`;
  }
}
