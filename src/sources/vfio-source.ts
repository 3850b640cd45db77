import { DRM_MODE_FB_MODIFIERS, VFIO } from '../kernel/constants';
import type { Host } from '../kernel/host';
import type { Topology } from '../kernel/topology';
import type { KmsDevice, VfioDevice } from '../kernel/types';
import type { PlaneAssignment } from '../kms/types';
import type { FramePipeline } from './pipeline';
import { showProps } from './plane-props';
import { RegionCopier } from './vfio-region';
import { openVfio, planeOff, queryPlane } from './vfio-query';

interface CachedFb {
  fb: number;
  handle: number;
}

/**
 * The vfio source: the daemon holds the mdev's VFIO device (mbochs and other samples allow it;
 * GVT-g does not) and, once per vblank, asks for the guest's plane. A new dmabuf id is imported
 * (PRIME), wrapped in a framebuffer and handed to the frame pipeline: no pixel is copied.
 * Framebuffers are cached by dmabuf id and freed as soon as the pipeline retires them. A device
 * that offers REGION planes instead (PROBE tells) is read and copied whole, each vblank.
 */
export class VfioSource {
  private device!: VfioDevice;
  private closeDevice: () => void = () => undefined;
  private readonly cache = new Map<number, CachedFb>();
  private current = 0;
  private timer: NodeJS.Timeout | null = null;
  private region: RegionCopier | null = null;

  constructor(
    private readonly host: Host,
    private readonly dev: KmsDevice,
    private readonly t: Topology,
    private readonly uuid: string,
    private readonly plane: PlaneAssignment,
    private readonly crtcId: number,
  ) {}

  open(): void {
    const v = openVfio(this.host, this.uuid);
    this.device = v.device;
    this.closeDevice = () => v.close();
    const which = this.plane.from;
    if (queryPlane(this.device, VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DMABUF, which)) return;
    if (queryPlane(this.device, VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_REGION, which)) {
      this.region = new RegionCopier(this.dev, this.device);
      return;
    }
    this.close();
    throw new Error(`mdev ${this.uuid} offers its planes neither as dma-bufs nor as a region`);
  }

  /** How this device hands out planes: `dmabuf` (0 bytes copied) or `region` (copied whole). */
  get mode(): 'dmabuf' | 'region' {
    return this.region ? 'region' : 'dmabuf';
  }

  /** One poll: a frame for the pipeline when the guest has flipped since the last one. */
  poll(pipeline: FramePipeline): void {
    if (this.region) return this.pollRegion(pipeline);
    const q = this.device.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, this.plane.from === 'primary' ? VFIO.PLANE_PRIMARY : VFIO.PLANE_CURSOR);
    if (planeOff(q) || q.dmabufId === this.current) return;
    let c = this.cache.get(q.dmabufId);
    if (!c) {
      const fd = this.device.getGfxDmabuf(q.dmabufId);
      try {
        const handle = this.dev.primeFdToHandle(fd);
        const fb = this.dev.addFb2({
          width: q.width, height: q.height, pixelFormat: q.drmFormat, flags: DRM_MODE_FB_MODIFIERS,
          handles: [handle], pitches: [q.stride], offsets: [0], modifiers: [q.drmFormatMod],
        });
        c = { fb, handle };
        this.cache.set(q.dmabufId, c);
      } finally {
        // The GEM handle keeps the buffer; the fd is not needed past the import.
        this.host.backend.closeFd(fd);
      }
    }
    this.current = q.dmabufId;
    pipeline.submit({ planeId: this.plane.planeId, fbs: [c.fb], props: showProps(this.t, this.plane.planeId, this.crtcId, c.fb, { x: 0, y: 0, w: q.width, h: q.height }, this.plane.dst) });
  }

  private pollRegion(pipeline: FramePipeline): void {
    const q = this.device.queryGfxPlane(VFIO.GFX_PLANE_TYPE_REGION, this.plane.from === 'primary' ? VFIO.PLANE_PRIMARY : VFIO.PLANE_CURSOR);
    if (planeOff(q)) return;
    const fb = this.region!.copy(q, pipeline, this.plane.planeId);
    if (fb === null) return; // both buffers still on screen or in flight: the next vblank copies
    pipeline.submit({ planeId: this.plane.planeId, fbs: [fb], props: showProps(this.t, this.plane.planeId, this.crtcId, fb, { x: 0, y: 0, w: q.width, h: q.height }, this.plane.dst) });
  }

  /** The pipeline no longer shows these: free them, unless one is the guest's current buffer. */
  retire(fbs: number[]): void {
    for (const [id, c] of this.cache) {
      if (!fbs.includes(c.fb) || id === this.current) continue;
      this.dev.rmFb(c.fb);
      this.dev.gemClose(c.handle);
      this.cache.delete(id);
    }
  }

  /** Polls at the display's rate until stopped. */
  start(pipeline: FramePipeline, hz = 60, onError: (e: Error) => void = () => undefined): void {
    this.timer = setInterval(() => {
      try {
        this.poll(pipeline);
      } catch (e) {
        onError(e as Error);
      }
    }, 1000 / hz);
    this.timer.unref();
  }

  get cachedFbs(): number {
    return this.cache.size;
  }

  /** Stops polling; what is on screen stays until `close`. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    for (const c of this.cache.values()) {
      try {
        this.dev.rmFb(c.fb);
        this.dev.gemClose(c.handle);
      } catch {
        // the fd may already be closed by a shutdown; the kernel frees them then
      }
    }
    this.cache.clear();
    this.region?.free();
    this.closeDevice();
    this.closeDevice = () => undefined;
  }
}
