import { existsSync, openSync, readdirSync, readFileSync, readlinkSync, closeSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { SysPaths } from './paths';

export interface MdevInfo {
  uuid: string;
  /** The parent device's name: a PCI address (`0000:00:02.0`) or a virtual device (`mbochs`). */
  parent: string;
  type: string;
  iommuGroup: number;
}

/** The mdevs sysfs knows, read from the links as a real host has them. */
export function listMdevs(sys: SysPaths): MdevInfo[] {
  const dir = sys.mdevDevices();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u))
    .sort()
    .map((uuid) => ({
      uuid,
      parent: basename(dirname(readlinkSync(sys.mdevDevice(uuid)))),
      type: basename(readlinkSync(sys.mdevType(uuid))),
      iommuGroup: Number(basename(readlinkSync(sys.iommuGroup(uuid)))),
    }));
}

/** Sysfs attributes exist or they don't: a write never creates a file. */
export function writeSysfs(path: string, value: string): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

export function readSysfs(path: string): string {
  return readFileSync(path, 'utf8').trim();
}
