import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { renderCrtc } from '../../src/kernel/sim/render';
import { readTopology } from '../../src/kernel/topology';
import type { KmsDevice } from '../../src/kernel/types';
import type { FramePipeline } from '../../src/sources/pipeline';
import type { VfioSource } from '../../src/sources/vfio-source';
import { MBOCHS_UUID as UUID, vfioRig } from '../helpers/vfio-rig';
import { REPO } from '../helpers/fixtures';

/** A device that offers its planes as a region (like the mdpy sample), not as dma-bufs. */
const W = 128;
const H = 96;
const tick = () => new Promise((r) => setImmediate(r));

let dir: string;
let host: Host;
let dev: KmsDevice;
let source: VfioSource;
let pipeline: FramePipeline;
let close: () => void;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'directflip-region-'));
  const profile = join(dir, 'region.json');
  writeFileSync(profile, JSON.stringify({ extends: join(REPO, 'examples', 'hosts', 'vkms.json'), name: 'vkms-region', vfio: { planeType: 'region' } }));
  host = openHost(`sim:${profile}`);
  ({ dev, source, pipeline, close } = vfioRig(host, W, H, { x: 8, y: 8 }, 0x20));
});

afterEach(() => {
  close();
  host.close();
  rmSync(dir, { recursive: true, force: true });
});

test('PROBE finds no dma-buf but a region: the source copies the whole plane each vblank, and the monitor shows it exactly', async () => {
  expect(source.mode).toBe('region');
  const sim = host.sim!;
  const fbsBefore = sim.card.fbs.size;
  for (let i = 0; i < 50; i++) {
    const px = Buffer.alloc(W * H * 4);
    for (let k = 0; k < px.length; k += 4) px.set([(k + i) % 251, i, 3, 0], k);
    sim.vfio.guestFlip(UUID, 'primary', px);
    source.poll(pipeline);
    sim.card.advanceVblank();
    await tick();
    const pic = renderCrtc(sim.card, readTopology(dev).crtcs[0].id);
    for (const [x, y] of [[0, 0], [W - 1, H - 1], [40, 30]]) {
      const o = ((y + 8) * pic.width + (x + 8)) * 4;
      const g = (y * W + x) * 4;
      expect([pic.rgba[o], pic.rgba[o + 1], pic.rgba[o + 2]]).toEqual([px[g + 2], px[g + 1], px[g]]);
    }
  }
  // Damage is unknown: every frame costs the whole plane; two buffers, made once.
  expect(pipeline.counters.bytesCopied).toBe(50 * W * H * 4);
  expect(sim.card.fbs.size - fbsBefore).toBe(2);
}, 30_000); // 50 renders of the whole CRTC

test('a disabled region plane reads as no plane: nothing is copied or flipped', () => {
  host.sim!.vfio.setGuestPlane(UUID, 'primary', null);
  source.poll(pipeline);
  expect(pipeline.counters).toMatchObject({ received: 0, bytesCopied: 0 });
});
