import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { openHost } from '../../src/kernel/host';
import { readTopology } from '../../src/kernel/topology';
import type { TopoProp } from '../../src/kernel/topology';
import type { AtomicProp } from '../../src/kernel/types';

/** What the host set, to find it in a dump: `plane:<id>`/`crtc:<id>`/`connector:<name>` → property → value. */
export type HostValues = Record<string, Record<string, string>>;
/** Each property's enum names by value, per dump key, to name the neutral values. */
export type EnumNames = Record<string, Record<string, Record<string, string>>>;

const enumValue = (p: TopoProp, name: string) => {
  const e = p.enums?.find((x) => x.name === name);
  if (!e) throw new Error(`${p.name} has no enum value ${name}`);
  return e.value;
};

function lut(entries: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(entries * 8);
  for (let i = 0; i < entries; i++) for (const c of [0, 2, 4]) b.writeUInt16LE(f(i), i * 8 + c);
  return b;
}

/**
 * A host compositor on the simulated kernel at `root` before the daemon ever runs: it sets
 * night-light gamma, a degamma and a warm CTM, limited-range RGB, 8/10 bpc, a colorspace, HDCP
 * Desired, HDR metadata and translucent planes (all but rotation, see below), destroys its blobs (only the committed state
 * keeps them) and exits. The daemon then boots on that kernel, as on a host whose compositor
 * was stopped for the guest.
 */
export function hostSetsEverything(root: string, profile: string): { set: HostValues; enums: EnumNames } {
  const host = openHost(`sim:${profile}`, { root });
  const set: HostValues = {};
  const enums: EnumNames = {};
  try {
    const dev = host.backend.openKms(host.cards()[0]);
    dev.setMaster();
    const t = readTopology(dev);
    const props: AtomicProp[] = [];
    const blobs: number[] = [];
    const keyOf = new Map<number, string>([
      ...t.crtcs.map((c): [number, string] => [c.id, `crtc:${c.id}`]),
      ...t.connectors.map((c): [number, string] => [c.id, `connector:${c.name}`]),
      ...t.planes.map((p): [number, string] => [p.id, `plane:${p.id}`]),
    ]);
    for (const o of [...t.crtcs, ...t.connectors, ...t.planes]) {
      const k = keyOf.get(o.id)!;
      enums[k] = Object.fromEntries(Object.values(o.props).filter((p) => p.enums?.length).map((p) => [p.name, Object.fromEntries(p.enums!.map((e) => [e.value.toString(), e.name]))]));
    }
    const put = (o: { id: number; props: Record<string, TopoProp> }, name: string, value: bigint, shown = value.toString()) => {
      const p = o.props[name];
      if (!p) throw new Error(`object ${o.id} has no ${name}: the profile lacks issue 13 item 7's properties`);
      props.push({ objectId: o.id, propId: p.id, value });
      (set[keyOf.get(o.id)!] ??= {})[name] = shown;
    };
    const blob = (b: Buffer) => {
      const id = dev.createPropBlob(b);
      blobs.push(id);
      return [BigInt(id), `blob:${b.toString('base64')}`] as const;
    };
    for (const c of t.crtcs) {
      put(c, 'GAMMA_LUT', ...blob(lut(Number(c.props.GAMMA_LUT_SIZE.value), (i) => Math.min(0xffff, Math.round((i / 1023) ** 0.8 * 0xffff)))));
      put(c, 'DEGAMMA_LUT', ...blob(lut(Number(c.props.DEGAMMA_LUT_SIZE.value), (i) => Math.round((i / 1023) * 0xfff0))));
      const ctm = Buffer.alloc(72);
      [0.9, 0.1, 0, 0, 1, 0, 0, 0.05, 0.8].forEach((v, i) => ctm.writeBigUInt64LE(BigInt(Math.round(v * 2 ** 32)), i * 8));
      put(c, 'CTM', ...blob(ctm));
    }
    for (const c of t.connectors) {
      const has = (n: string) => n in c.props;
      if (has('Broadcast RGB')) put(c, 'Broadcast RGB', enumValue(c.props['Broadcast RGB'], 'Limited 16:235'));
      if (has('max bpc')) put(c, 'max bpc', 8n);
      if (has('Colorspace')) put(c, 'Colorspace', enumValue(c.props.Colorspace, c.name.startsWith('HDMI') ? 'BT709_YCC' : 'BT2020_RGB'));
      if (has('Content Protection')) put(c, 'Content Protection', enumValue(c.props['Content Protection'], 'Desired'));
      if (has('HDR_OUTPUT_METADATA')) put(c, 'HDR_OUTPUT_METADATA', ...blob(Buffer.from([0, 0, 0, 0, 2, 0, ...new Array<number>(26).fill(7)])));
    }
    for (const p of t.planes) {
      if (p.props.alpha) put(p, 'alpha', 0xc000n);
      if (p.props['pixel blend mode']) put(p, 'pixel blend mode', enumValue(p.props['pixel blend mode'], 'Coverage'));
      if (p.props.COLOR_ENCODING) put(p, 'COLOR_ENCODING', enumValue(p.props.COLOR_ENCODING, 'ITU-R BT.601 YCbCr'));
      if (p.props.COLOR_RANGE) put(p, 'COLOR_RANGE', enumValue(p.props.COLOR_RANGE, 'YCbCr full range'));
      // No rotation: fbdev's restore at the last close sets every plane's to rotate-0
      // (drm_client_modeset_commit_atomic), so none a compositor set can outlive it.
    }
    dev.atomic(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
    for (const b of blobs) dev.destroyPropBlob(b);
    dev.dropMaster();
    dev.close();
  } finally {
    host.close();
  }
  return { set, enums };
}
