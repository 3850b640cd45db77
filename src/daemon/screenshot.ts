import type { SimHost } from '../kernel/sim/host';
import { renderCrtc } from '../kernel/sim/render';
import { encodePng } from '../util/png';
import { BusRefusal } from './bus-methods';

/** What the monitor on `connector` shows, as a PNG; a dark 640x360 frame when it has no signal. */
export function simScreenshot(sim: SimHost, connector: string): Buffer {
  const card = sim.card;
  const conn = card.built.connectors.find((c) => c.name === connector);
  if (!conn) {
    const known = card.built.connectors.map((c) => c.name).join(', ');
    throw new BusRefusal('io.github.directflip1.Error.UnknownConnector', `no connector ${JSON.stringify(connector)} on the simulated card; it has ${known}`);
  }
  const crtcId = Number(card.state.get(conn.id)?.get('CRTC_ID') ?? 0n);
  const pic = crtcId ? renderCrtc(card, crtcId) : { width: 0, height: 0, rgba: Buffer.alloc(0) };
  if (!pic.width) {
    const rgba = Buffer.alloc(640 * 360 * 4);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    return encodePng(640, 360, rgba);
  }
  return encodePng(pic.width, pic.height, pic.rgba);
}
