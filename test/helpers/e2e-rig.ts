import { decodePng } from '../../src/util/png';
import { FaultRig, NS } from './fault-rig';

/**
 * Issue 13's simulator must-shows end to end: what a test compares of a FaultRig's daemon (a real
 * `directflip daemon` process on a simulated host, a real dbus-daemon, the hook shim run under
 * `env -i`): every monitor's PNG bytes and every property of every KMS object.
 */
export type Dump = Record<string, Record<string, string>>;

/** Every property of every object, blob properties by their bytes (Simulator.DumpProperties). */
export async function dumpOf(rig: FaultRig): Promise<Dump> {
  return JSON.parse((await rig.sim('DumpProperties', '', []))[0] as string) as Dump;
}

/** The card's connector names, from the dump. */
export function connectorsIn(d: Dump): string[] {
  return Object.keys(d).filter((k) => k.startsWith('connector:')).map((k) => k.slice('connector:'.length));
}

/** Every monitor's screenshot, by connector name. */
export async function screens(rig: FaultRig, connectors: string[]): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const c of connectors) out[c] = await rig.screenshot(c);
  return out;
}

/** Which monitors differ from `before` (by PNG bytes): [] when every one is given back exactly. */
export function differing(now: Record<string, Buffer>, before: Record<string, Buffer>): string[] {
  return Object.keys(before).filter((c) => !now[c]?.equals(before[c]));
}

export async function sizeOf(rig: FaultRig, connector: string): Promise<[number, number]> {
  const p = decodePng(await rig.screenshot(connector));
  return [p.width, p.height];
}

/** The RGB the monitor on `connector` shows at (x, y). */
export async function pixelAt(rig: FaultRig, connector: string, x: number, y: number): Promise<number[]> {
  const p = decodePng(await rig.screenshot(connector));
  const o = (y * p.width + x) * 4;
  return [p.rgba[o], p.rgba[o + 1], p.rgba[o + 2]];
}

/** What `Status` says of one domain: [state, planes, notes], or null once it is gone. */
export async function rowOf(rig: FaultRig, name: string) {
  return (await rig.status()).find((d) => d[0] === name) ?? null;
}

/**
 * A guest `name` (uuid and mdev from `i`) whose GVT-g mdev's primary plane goes onto `connector`,
 * through its kernel fb (source gvt-fb: no per-frame work, so every pixel on screen is the
 * kernel's). `mode` sets the output's mode; `window` puts the plane on an overlay there.
 * on-error="abort": a refusal fails the start instead of hiding behind a warning.
 */
export function gvtGuest(i: number, name: string, connector: string, opts: { mode?: string; window?: { x: number; y: number; w: number; h: number } } = {}): string {
  const hex = String(i).padStart(12, '0');
  const mdev = `00000000-0000-4000-9000-${hex}`;
  const mode = opts.mode ? ` mode="${opts.mode}"` : '';
  const w = opts.window;
  const place = w ? ` to="overlay" x="${w.x}" y="${w.y}" width="${w.w}" height="${w.h}"` : ' to="primary"';
  return `<domain type='kvm'><name>${name}</name><uuid>00000000-0000-4000-8000-${hex}</uuid><metadata><directflip xmlns="${NS}" on-error="abort"><output connector="${connector}"${mode}>
  <plane from="primary" mdev="${mdev}" source="gvt-fb"${place}/></output></directflip></metadata>
  <devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='${mdev}'/></source></hostdev></devices></domain>`;
}

export { FaultRig };
