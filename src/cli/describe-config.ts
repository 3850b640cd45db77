import type { DomainConfig, ModeSpec, PlaneConfig } from '../config';

/** The human summary `validate` prints: what the admin wrote, resolved to its defaults. */
export function describeConfig(c: DomainConfig): string {
  const lines = [`domain ${c.name}${c.uuid ? ` (${c.uuid})` : ''}`];
  const mdevs = c.mdevs.map((m) => `${m.uuid}${m.display === 'on' ? ' display=on' : ''}`);
  lines.push(`  mdevs:    ${mdevs.length ? mdevs.join(', ') : 'none'}`);
  lines.push(`  graphics: ${c.graphics.length ? `dbus${c.graphics[0].address ? ` at ${c.graphics[0].address}` : ''}` : 'no D-Bus display'}`);
  if (!c.directflip) {
    lines.push('  not configured for directflip: no <directflip> element in <metadata>; the hook will leave it alone');
    return lines.join('\n') + '\n';
  }
  lines.push(`  on-error: ${c.directflip.onError}`);
  for (const o of c.directflip.outputs) {
    lines.push(`  output ${o.connector}  card ${o.card ?? '(the one with this connector)'}  mode ${modeText(o.mode)}  restore ${o.restore}`);
    for (const p of o.planes) lines.push(`    ${planeText(p)}`);
  }
  lines.push('valid');
  return lines.join('\n') + '\n';
}

function modeText(m: ModeSpec): string {
  if (m.kind === 'current') return 'current (else preferred)';
  if (m.kind === 'preferred') return 'preferred';
  return `${m.width}x${m.height}${m.refresh !== null ? `@${m.refresh}` : ''}`;
}

function planeText(p: PlaneConfig): string {
  const who = p.mdev !== null ? `mdev ${p.mdev}` : `console ${p.console}`;
  const to = typeof p.to === 'number' ? `plane ${p.to}` : p.to === 'auto' ? 'auto' : `${p.to} plane`;
  const geo = [
    p.x !== null || p.y !== null ? `at ${p.x ?? 0},${p.y ?? 0}` : '',
    p.width !== null || p.height !== null ? `size ${p.width ?? 'auto'}x${p.height ?? 'auto'}` : '',
    p.zpos !== null ? `zpos ${p.zpos}` : '',
  ].filter(Boolean);
  return `guest ${p.from} → ${to}  (${who}, source ${p.source})${geo.length ? '  ' + geo.join(' ') : ''}`;
}
