import { fourcc } from '../../src/kernel/constants';
import type { Host } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import { EventHub, FramePipeline } from '../../src/sources/pipeline';
import { VfioSource } from '../../src/sources/vfio-source';

/** The mbochs mdev of the simulated vkms profiles. */
export const MBOCHS_UUID = '0f2d7e6a-5c4b-4a39-8e21-7d6c5b4a3f10';

/**
 * A guest with a w×h XR24 primary (every byte `fill`), and the vfio source streaming it onto
 * the card's first overlay at `at`, through its own frame pipeline.
 */
export function vfioRig(host: Host, w: number, h: number, at: { x: number; y: number }, fill: number) {
  host.sim!.vfio.setGuestPlane(MBOCHS_UUID, 'primary', { width: w, height: h, stride: w * 4, format: fourcc('XR24'), modifier: 0n, pixels: Buffer.alloc(w * h * 4, fill) });
  const dev: KmsDevice = host.backend.openKms(host.cards()[0]);
  const t = readTopology(dev);
  const crtc = t.crtcs[0];
  const overlay = t.planes.find((p) => p.type === 'overlay')!;
  const source = new VfioSource(host, dev, t, MBOCHS_UUID, { key: 'p', from: 'primary', planeId: overlay.id, planeType: 'overlay', fbId: 0, src: { x: 0, y: 0, w, h }, dst: { ...at, w, h }, zpos: null, setZpos: false }, crtc.id);
  source.open();
  const pipeline = new FramePipeline(dev, crtc.id, new EventHub(dev), (fbs) => source.retire(fbs), (e) => {
    throw e;
  });
  return {
    dev, source, pipeline, crtc: crtc.id,
    close: () => {
      pipeline.stop();
      source.close();
      dev.close();
    },
  };
}
