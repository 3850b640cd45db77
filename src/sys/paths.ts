import { isAbsolute, join, normalize, relative } from 'node:path';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9:._+-]*$/;

/**
 * Every /sys, /dev, /etc and /run path, built from one root (mdevctl's pattern): tests hand in a
 * temporary tree and read back what the code wrote. Components that come from configuration are
 * checked again here, so nothing can step outside the root.
 */
export class SysPaths {
  readonly root: string;

  constructor(root = '/') {
    if (!isAbsolute(root)) throw new Error(`root must be absolute: ${root}`);
    this.root = normalize(root);
  }

  /** Joins under the root and refuses anything that would leave it. */
  at(...parts: string[]): string {
    const p = join(this.root, ...parts);
    const rel = relative(this.root, p);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`path escapes ${this.root}: ${parts.join('/')}`);
    return p;
  }

  static uuid(u: string): string {
    if (!UUID_RE.test(u)) throw new Error(`not a canonical lower-case UUID: ${JSON.stringify(u)}`);
    return u;
  }

  static name(n: string): string {
    if (!NAME_RE.test(n)) throw new Error(`not a safe sysfs name: ${JSON.stringify(n)}`);
    return n;
  }

  mdevDevices(): string {
    return this.at('sys/bus/mdev/devices');
  }

  mdevDevice(uuid: string): string {
    return this.at('sys/bus/mdev/devices', SysPaths.uuid(uuid));
  }

  mdevType(uuid: string): string {
    return this.at('sys/bus/mdev/devices', SysPaths.uuid(uuid), 'mdev_type');
  }

  iommuGroup(uuid: string): string {
    return this.at('sys/bus/mdev/devices', SysPaths.uuid(uuid), 'iommu_group');
  }

  drmClass(): string {
    return this.at('sys/class/drm');
  }

  drmConnectorStatus(card: string, connector: string): string {
    return this.at('sys/class/drm', `${SysPaths.name(card)}-${SysPaths.name(connector)}`, 'status');
  }

  /** The caller passes `/dev/dri/…` as configured; it must stay in /dev/dri. */
  devDri(path: string): string {
    const rel = relative('/dev/dri', normalize(path));
    if (!path.startsWith('/dev/dri/') || rel.startsWith('..')) throw new Error(`not under /dev/dri: ${path}`);
    return this.at('dev/dri', rel);
  }

  devVfioGroup(n: number): string {
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad IOMMU group ${n}`);
    return this.at('dev/vfio', String(n));
  }

  runDir(): string {
    return this.at('run/directflip');
  }

  libvirtHooksDir(): string {
    return this.at('etc/libvirt/hooks/qemu.d');
  }
}
