import { readFileSync } from 'node:fs';
import { SaxesParser } from 'saxes';

/** One plane of a picture as the SVG has it: its group's data attributes and its rectangle. */
export interface SvgPlane {
  plane: number;
  kind: string;
  owner: string;
  zpos: number;
  rect: { x: number; y: number; w: number; h: number };
  label: string;
}

export interface SvgScreen {
  connector: string;
  crtc: number;
  mode: { w: number; h: number };
  /** In document order: the order they are painted, bottom first. */
  planes: SvgPlane[];
}

/** Parses a `--svg` picture with a conforming XML parser (a malformed file throws). */
export function readPicture(file: string): { screens: SvgScreen[]; notes: string[]; root: string } {
  const parser = new SaxesParser({ xmlns: true });
  const screens: SvgScreen[] = [];
  const notes: string[] = [];
  let root = '';
  let plane: SvgPlane | null = null;
  let text: string[] | null = null;
  parser.on('opentag', (t) => {
    const a = (k: string) => String(t.attributes[k]?.value ?? '');
    if (!root) root = `${t.uri} ${t.local}`;
    if (t.local === 'g' && a('class') === 'screen') screens.push({ connector: a('data-connector'), crtc: Number(a('data-crtc')), mode: { w: 0, h: 0 }, planes: [] });
    if (t.local === 'g' && a('class') === 'plane') plane = { plane: Number(a('data-plane')), kind: a('data-kind'), owner: a('data-owner'), zpos: Number(a('data-zpos')), rect: { x: 0, y: 0, w: 0, h: 0 }, label: '' };
    if (t.local === 'rect') {
      const r = { x: Number(a('x')), y: Number(a('y')), w: Number(a('width')), h: Number(a('height')) };
      if (a('class') === 'mode') screens[screens.length - 1].mode = { w: r.w, h: r.h };
      else if (plane) plane.rect = r;
    }
    if (t.local === 'text') text = [];
  });
  parser.on('text', (s) => text?.push(s));
  parser.on('closetag', (t) => {
    if (t.local === 'text' && text) {
      if (plane) plane.label = text.join('');
      else if ((t.attributes.class as { value?: string } | undefined)?.value === 'note') notes.push(text.join(''));
      text = null;
    }
    if (t.local === 'g' && plane) {
      screens[screens.length - 1].planes.push(plane);
      plane = null;
    }
  });
  parser.write(readFileSync(file, 'utf8')).close();
  return { screens, notes, root };
}

/** The zpos of each plane in painting order never goes down. */
export function paintedInZposOrder(s: SvgScreen): boolean {
  return s.planes.every((p, i) => i === 0 || s.planes[i - 1].zpos <= p.zpos);
}
