/**
 * A picture of the host's monitors, for an admin who would rather look than read a table: each
 * connector's mode as a rectangle, and in it every plane on its CRTC (host planes kept, guest
 * planes coloured by domain, cursors outlined), drawn bottom first in zpos order and labelled.
 * Plain data in, SVG text out; coordinates are the mode's pixels, so a plane's rectangle is its
 * CRTC_X/Y/W/H exactly.
 */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Layer {
  planeId: number;
  planeType: string;
  /** 'host': a plane the host shows and keeps; 'guest' and 'cursor': a domain's. */
  kind: 'host' | 'guest' | 'cursor';
  /** The domain, or 'host'. */
  owner: string;
  /** Where it blends, bottom first: its zpos, else its place in the driver's plane order. */
  zpos: number;
  dst: Rect;
  label: string;
}

export interface Screen {
  connector: string;
  crtcId: number;
  width: number;
  height: number;
  mode: string;
  layers: Layer[];
}

export interface Picture {
  title: string;
  screens: Screen[];
  /** Sentences shown under the screens (e.g. why host planes are not drawn). */
  notes: string[];
}

const GAP = 0.08;
/** One decimal: enough for a label's place, and no 28.799999999999997 in the file. */
const r1 = (n: number) => Math.round(n * 10) / 10;
const GUEST_COLOURS = ['#2a7de1', '#e1662a', '#2aa84a', '#a02ae1', '#d4b21c', '#1cc7d4'];

/** Bottom first; the kernel breaks zpos ties by plane id (drm_atomic_normalize_zpos). */
export function stackOrder(layers: readonly Layer[]): Layer[] {
  return [...layers].sort((a, b) => a.zpos - b.zpos || a.planeId - b.planeId);
}

export function renderSvg(p: Picture): string {
  const width = Math.max(640, ...p.screens.map((s) => s.width));
  const gap = Math.round(width * GAP);
  const font = Math.max(12, Math.round(width / 80));
  const owners = [...new Set(p.screens.flatMap((s) => s.layers.filter((l) => l.kind !== 'host').map((l) => l.owner)))];
  const colour = (l: Layer) => (l.kind === 'host' ? '#8a8a8a' : GUEST_COLOURS[owners.indexOf(l.owner) % GUEST_COLOURS.length]);
  const out: string[] = [];
  let y = font * 3;
  for (const s of p.screens) {
    out.push(`<g class="screen" data-connector="${esc(s.connector)}" data-crtc="${s.crtcId}" transform="translate(0,${y})">`);
    out.push(`<text class="screen-label" x="0" y="${r1(-font * 0.6)}" font-size="${font}">${esc(`${s.connector} · CRTC ${s.crtcId} · ${s.mode}`)}</text>`);
    out.push(`<rect class="mode" x="0" y="0" width="${s.width}" height="${s.height}" fill="#111" stroke="#000"/>`);
    for (const l of stackOrder(s.layers)) {
      const c = colour(l);
      const fill = l.kind === 'cursor' ? `fill="none" stroke="${c}" stroke-width="${r1(Math.max(2, font / 6))}"` : `fill="${c}" fill-opacity="0.55" stroke="${c}"`;
      out.push(
        `<g class="plane" data-plane="${l.planeId}" data-kind="${l.kind}" data-owner="${esc(l.owner)}" data-zpos="${l.zpos}">` +
          `<rect x="${l.dst.x}" y="${l.dst.y}" width="${l.dst.w}" height="${l.dst.h}" ${fill}/>` +
          `<text x="${r1(l.dst.x + font / 3)}" y="${r1(l.dst.y + font * 1.1)}" font-size="${font}" fill="#fff">${esc(`${l.label} (zpos ${l.zpos})`)}</text></g>`,
      );
    }
    out.push('</g>');
    y += s.height + gap;
  }
  for (const n of p.notes) {
    out.push(`<text class="note" x="0" y="${y}" font-size="${font}">${esc(n)}</text>`);
    y += r1(font * 1.5);
  }
  const title = `<title>${esc(p.title)}</title><text class="title" x="0" y="${r1(font * 1.2)}" font-size="${r1(font * 1.2)}" font-weight="bold">${esc(p.title)}</text>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n` +
    `${title}\n${out.join('\n')}\n</svg>\n`
  );
}

/** Names come from domain XMLs and the daemon: escaped, and characters XML 1.0 forbids replaced. */
export function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
