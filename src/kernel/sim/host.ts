import { createHash } from 'node:crypto';
import { kernelError } from '../errors';
import type { KernelBackend, KmsDevice, UdmabufDevice, Uevent, VfioContainer, VfioGroup } from '../types';
import { SimDmabufTable } from './buffers';
import { KernelStore } from './kernel-store';
import { SimCard } from './kms-card';
import { resumeKernel, snapshotKernel } from './kms-persist';
import type { HostProfile } from './profile';
import { SimUdmabuf } from './udmabuf';
import { USERSPACE_DEFAULTS } from './userspace-profile';
import { SimVfio } from './vfio';

/**
 * A whole simulated host behind the same KernelBackend the native addon provides: one DRM card
 * and the VFIO mdevs, sharing dma-buf memory. Per instance: tests never share state.
 */
export class SimHost implements KernelBackend {
  readonly kind = 'sim' as const;
  readonly dmabufs = new SimDmabufTable();
  readonly card: SimCard;
  readonly vfio: SimVfio;
  private readonly store: KernelStore | null;
  private readonly profileHash: string;
  /** /dev/udmabuf fds: numbers no real fd of the test has, like the sim's dma-bufs. */
  private nextDeviceFd = 90000;

  /**
   * `stateDir`: the kernel outlives this process there, as a real one outlives the daemon. A
   * host made on the same directory later resumes it, after closing the dead process's files.
   */
  constructor(
    readonly profile: HostProfile,
    opts: { vblank?: 'manual' | 'timer'; stateDir?: string } = {},
  ) {
    this.card = new SimCard(profile.kms, { dmabufs: this.dmabufs, vblank: opts.vblank ?? 'manual' });
    this.vfio = new SimVfio(profile.vfio, {
      dmabufs: this.dmabufs,
      kernelFb: (b) => this.card.kernelFb(b),
      retargetFb: (id, b) => this.card.retargetKernelFb(id, b),
    });
    this.profileHash = createHash('sha256').update(JSON.stringify(profile)).digest('hex');
    this.store = opts.stateDir ? new KernelStore(opts.stateDir) : null;
    if (this.store) {
      const saved = this.store.load();
      if (saved?.profile === this.profileHash) resumeKernel(this.card, this.vfio, saved);
      const save = () => this.save(process.pid);
      this.card.onKernelChange = save;
      this.vfio.onChange = save;
      save();
    }
  }

  private save(pid: number): void {
    this.store?.save(snapshotKernel(this.card, this.vfio, this.profileHash, pid));
  }

  /** The names the card answers to, as /dev/dri shows them. */
  get cardPaths(): string[] {
    return [this.profile.kms.devPath, `/dev/dri/by-path/${this.byPathName}`];
  }

  get byPathName(): string {
    const a = this.profile.kms.pciAddress;
    return /^[0-9a-f]{4}:/.test(a) ? `pci-${a}-card` : `${a}-card`;
  }

  openKms(path: string): KmsDevice {
    if (!this.cardPaths.includes(path)) throw kernelError('ENOENT', 'open', path);
    return this.card.open();
  }

  openVfioContainer(path: string): VfioContainer {
    if (path !== '/dev/vfio/vfio') throw kernelError('ENOENT', 'open', path);
    return this.vfio.openContainer(path);
  }

  openVfioGroup(path: string): VfioGroup {
    return this.vfio.openGroup(path);
  }

  /**
   * /dev/udmabuf, where the profile's kernel has the module loaded (userspace.modules, which
   * lists udmabuf unless the profile says otherwise); ENOENT elsewhere, as open() answers.
   */
  openUdmabuf(path: string): UdmabufDevice {
    const modules = this.profile.userspace?.modules ?? USERSPACE_DEFAULTS.modules;
    if (path !== '/dev/udmabuf' || !modules.includes('udmabuf')) throw kernelError('ENOENT', 'open', path);
    return new SimUdmabuf(this.nextDeviceFd++, this.dmabufs);
  }

  /** A memfd's pages as a dma-buf (what /dev/udmabuf does): a stand-in for a GPU buffer. */
  udmabuf(memfd: number): number {
    return this.dmabufs.udmabuf(memfd);
  }

  closeFd(fd: number): void {
    this.dmabufs.close(fd);
  }

  watchUevents(cb: (ev: Uevent) => void, onError?: (e: Error) => void): () => void {
    return this.card.watchUevents(cb, onError);
  }

  /** The process lets go: what it left open is closed by whoever resumes this kernel. */
  stop(): void {
    this.card.stop();
    this.card.onKernelChange = null;
    this.vfio.onChange = null;
    this.save(0);
  }
}
