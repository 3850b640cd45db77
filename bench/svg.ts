/**
 * A latency CDF as a standalone SVG (no library: a few polylines): x is milliseconds on a log
 * scale, y the share of samples at or below it. One curve per frame path, and the budget marked.
 */
export interface Curve {
  name: string;
  /** Milliseconds. */
  samples: number[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function cdfSvg(title: string, curves: Curve[], markMs: { at: number; label: string }[] = []): string {
  const W = 720;
  const H = 420;
  const L = 60;
  const R = 20;
  const T = 40;
  const B = 50;
  const all = curves.flatMap((c) => c.samples).filter((x) => x > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1e-3, Math.min(...all, ...markMs.map((m) => m.at))))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, ...markMs.map((m) => m.at), lo * 10))));
  const x = (ms: number) => L + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - L - R);
  const y = (p: number) => T + (1 - p) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    parts.push(`<line x1="${x(d).toFixed(1)}" y1="${T}" x2="${x(d).toFixed(1)}" y2="${H - B}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(d).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${d >= 1 ? d.toFixed(0) : d.toPrecision(1)}</text>`);
  }
  for (const p of [0, 0.5, 0.9, 0.99, 1]) {
    parts.push(`<line x1="${L}" y1="${y(p).toFixed(1)}" x2="${W - R}" y2="${y(p).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 6}" y="${(y(p) + 4).toFixed(1)}" text-anchor="end">${p}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">message → commit issued, ms (log scale)</text>`);
  parts.push(`<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">share of frames</text>`);
  for (const m of markMs) {
    parts.push(`<line x1="${x(m.at).toFixed(1)}" y1="${T}" x2="${x(m.at).toFixed(1)}" y2="${H - B}" stroke="#888" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(x(m.at) + 4).toFixed(1)}" y="${T + 12}" fill="#555">${esc(m.label)}</text>`);
  }
  curves.forEach((c, i) => {
    const s = [...c.samples].sort((a, b) => a - b);
    if (!s.length) return;
    const pts = s.map((v, k) => `${x(v).toFixed(1)},${y((k + 1) / s.length).toFixed(1)}`);
    const colour = COLOURS[i % COLOURS.length];
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.8" points="${x(s[0]).toFixed(1)},${y(0)} ${pts.join(' ')}"/>`);
    parts.push(`<text x="${L + 10}" y="${T + 16 + i * 16}" fill="${colour}">${esc(`${c.name} (${s.length} frames)`)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
