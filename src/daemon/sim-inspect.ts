import type { SimHost } from '../kernel/sim/host';
import type { MethodSpec } from './bus-methods';
import { DaemonError } from './errors';
import { SIMULATOR_IFACE } from './names';

/**
 * io.github.directflip1.Simulator's inspection and storm controls, for end-to-end tests of a
 * daemon process: what a kernel debugger would read of the whole card, and a burst of refusals
 * the kernel gives under load. Neither opens a DRM file, so neither can be the last close that
 * lets fbcon repaint, nor take master from anyone.
 */

/**
 * Every property of every KMS object as the kernel holds it, blob properties by their bytes
 * (base64; a restore may make a blob anew under another id, what must match is what it holds),
 * keyed `crtc:<id>`, `connector:<name>`, `plane:<id>`: one JSON object.
 */
export function dumpCard(sim: SimHost): string {
  const card = sim.card;
  const blobNames = card.blobPropNames();
  const out: Record<string, Record<string, string>> = {};
  const add = (key: string, id: number) => {
    const props: Record<string, string> = {};
    for (const [name, v] of card.state.get(id) ?? []) {
      if (!blobNames.has(name) || v === 0n) {
        props[name] = v.toString();
        continue;
      }
      const b = card.blobs.get(Number(v));
      props[name] = b ? `blob:${b.data.toString('base64')}` : `missing blob ${v}`;
    }
    out[key] = Object.fromEntries(Object.entries(props).sort(([a], [b]) => a.localeCompare(b)));
  };
  for (const c of card.built.crtcs) add(`crtc:${c.id}`, c.id);
  for (const c of card.built.connectors) add(`connector:${c.name}`, c.id);
  for (const p of card.built.planes) add(`plane:${p.id}`, p.id);
  return JSON.stringify(out);
}

const IOCTLS = new Set(['DRM_IOCTL_MODE_ATOMIC', 'DRM_IOCTL_MODE_ADDFB2', 'DRM_IOCTL_MODE_CREATEPROPBLOB']);
const CODES = new Set(['EBUSY', 'ENOMEM', 'EINTR', 'EAGAIN', 'EIO']);

/** The next `count` calls of `ioctl` fail with `code`, as a loaded kernel answers a burst of them. */
function failNext(sim: SimHost, ioctl: unknown, code: unknown, count: unknown): void {
  if (typeof ioctl !== 'string' || !IOCTLS.has(ioctl)) throw new DaemonError('InvalidArgs', `ioctl ${JSON.stringify(ioctl)} cannot be failed here; use one of ${[...IOCTLS].join(', ')}`);
  if (typeof code !== 'string' || !CODES.has(code)) throw new DaemonError('InvalidArgs', `errno ${JSON.stringify(code)} is not one a kernel answers ${ioctl} with under load; use one of ${[...CODES].join(', ')}`);
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000) throw new DaemonError('InvalidArgs', `count ${String(count)} is not between 1 and 10000: give a count in that range`);
  for (let i = 0; i < count; i++) sim.card.failNext(ioctl, code);
}

/**
 * What a leak check counts: framebuffers that open files made (not the kernel's own: fbcon's, or
 * the ones a GVT-g vGPU makes for its guest's planes) and the GEM handles open files hold. A
 * released daemon must be back at the counts it started with.
 */
function counters(sim: SimHost): [number, number] {
  return [[...sim.card.fbs.values()].filter((fb) => fb.owner !== null).length, sim.card.gemHandleCount];
}

export const SIM_INSPECT_SPECS: MethodSpec[] = [
  { iface: SIMULATOR_IFACE, member: 'DumpProperties', in: '', inNames: [], out: 's' },
  { iface: SIMULATOR_IFACE, member: 'Counters', in: '', inNames: [], out: 'uu' },
  { iface: SIMULATOR_IFACE, member: 'FailNext', in: 'ssu', inNames: ['ioctl', 'errno', 'count'], out: '' },
];

export function simInspectHandlers(sim: SimHost): Record<string, (a: Record<string, unknown>) => unknown[]> {
  return {
    [`${SIMULATOR_IFACE}.DumpProperties`]: () => [dumpCard(sim)],
    [`${SIMULATOR_IFACE}.Counters`]: () => counters(sim),
    [`${SIMULATOR_IFACE}.FailNext`]: (a) => (failNext(sim, a.ioctl, a.errno, a.count), []),
  };
}
