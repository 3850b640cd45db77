import { kernelError } from '../errors';
import type { KernelBackend, KmsDevice, VfioContainer, VfioGroup } from '../types';
import { SimDmabufTable } from './buffers';
import { SimCard } from './kms-card';
import type { HostProfile } from './profile';
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

  constructor(
    readonly profile: HostProfile,
    opts: { vblank?: 'manual' | 'timer' } = {},
  ) {
    this.card = new SimCard(profile.kms, { dmabufs: this.dmabufs, vblank: opts.vblank ?? 'manual' });
    this.vfio = new SimVfio(profile.vfio, {
      dmabufs: this.dmabufs,
      kernelFb: (b) => this.card.kernelFb(b),
      retargetFb: (id, b) => this.card.retargetKernelFb(id, b),
    });
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

  /** A memfd's pages as a dma-buf (what /dev/udmabuf does): a stand-in for a GPU buffer. */
  udmabuf(memfd: number): number {
    return this.dmabufs.udmabuf(memfd);
  }

  closeFd(fd: number): void {
    this.dmabufs.close(fd);
  }

  stop(): void {
    this.card.stop();
  }
}
