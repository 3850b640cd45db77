import type { SimHost } from '../../src/kernel/sim/host';
import { renderCrtc } from '../../src/kernel/sim/render';

/** The RGB a simulated CRTC shows at (x, y). */
export function shownAt(sim: SimHost, crtcId: number, x: number, y: number): number[] {
  const pic = renderCrtc(sim.card, crtcId);
  const o = (y * pic.width + x) * 4;
  return [pic.rgba[o], pic.rgba[o + 1], pic.rgba[o + 2]];
}

/** Lets queued work and a few vblanks pass, so every submitted frame has landed. */
export async function settleVblanks(sim: SimHost, vblanks = 4): Promise<void> {
  const tick = () => new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < vblanks; i++) {
    await tick();
    sim.card.advanceVblank();
  }
  await tick();
}
