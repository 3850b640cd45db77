import { realpathSync } from 'node:fs';
import { readSysfs, writeSysfs } from './mdevs';

/**
 * Reads and writes of sysfs attributes go through here: on a real host that is the file system;
 * a simulated host adds live attributes whose reads answer earlier writes, as the kernel's do.
 * A write never creates a file, on either.
 */
export interface SysfsIO {
  read(path: string): string;
  write(path: string, value: string): void;
}

export const realSysfs: SysfsIO = { read: readSysfs, write: writeSysfs };

export interface LiveAttribute {
  read(): string;
  write(value: string): void;
}

export class SimSysfs implements SysfsIO {
  private readonly live = new Map<string, LiveAttribute>();

  /** `path` must already exist in the fake tree (sysfs writes never create files). */
  add(path: string, attr: LiveAttribute): void {
    this.live.set(realpathSync(path), attr);
  }

  private attr(path: string): LiveAttribute | undefined {
    try {
      return this.live.get(realpathSync(path));
    } catch {
      return undefined;
    }
  }

  read(path: string): string {
    return this.attr(path)?.read().trim() ?? readSysfs(path);
  }

  write(path: string, value: string): void {
    const a = this.attr(path);
    if (a) a.write(value);
    else writeSysfs(path, value);
  }
}
