import { DRM_MODE_ATOMIC } from '../../src/kernel/constants';
import { readTopology } from '../../src/kernel/topology';
import { errOf } from '../contract/kms.contract';
import { simKms } from '../helpers/sim';

/** The Skylake profile's driver properties (kms.properties), attached and checked as i915 does. */

test('each property lands where i915 creates it: per object or one per device, by plane and connector type', () => {
  const { dev } = simKms('gvt-skylake');
  const t = readTopology(dev);
  const conn = (n: string) => t.connectors.find((c) => c.name === n)!.props;
  expect(conn('HDMI-A-1')['Broadcast RGB'].id).toBe(conn('DP-1')['Broadcast RGB'].id); // one per device
  expect(conn('HDMI-A-1')['max bpc'].id).not.toBe(conn('DP-1')['max bpc'].id);
  expect([conn('HDMI-A-1')['max bpc'].range, conn('DP-1')['max bpc'].range]).toEqual([[8n, 12n], [6n, 12n]]);
  expect(conn('HDMI-A-1')['max bpc'].value).toBe(12n);
  expect(conn('eDP-1')['Content Protection']).toBeUndefined();
  expect(conn('HDMI-A-1').HDR_OUTPUT_METADATA).toBeUndefined();
  expect(conn('DP-1').HDR_OUTPUT_METADATA).toBeDefined();
  const primary = t.planes.find((p) => p.type === 'primary')!.props;
  const cursor = t.planes.find((p) => p.type === 'cursor')!.props;
  expect([primary.alpha?.value, primary['pixel blend mode']?.value, primary.COLOR_ENCODING?.value]).toEqual([65535n, 1n, 1n]);
  expect(cursor.alpha).toBeUndefined();
  expect(t.crtcs[0].props.GAMMA_LUT_SIZE.value).toBe(1024n);
});

test('blob lengths, LUT sizes, ranges and Content Protection are refused with EINVAL as the kernel does', () => {
  const { dev, f } = simKms('gvt-skylake');
  const crtc = f.t.crtcs.find((c) => c.id === f.crtc.id)!;
  const hdmi = f.t.connectors.find((c) => c.name === 'HDMI-A-1')!;
  const set = (objectId: number, propId: number, value: bigint) => () => dev.atomic([{ objectId, propId, value }], DRM_MODE_ATOMIC.TEST_ONLY);
  const blob = (n: number) => BigInt(dev.createPropBlob(Buffer.alloc(n)));
  expect(set(crtc.id, crtc.props.GAMMA_LUT.id, blob(1024 * 8))).not.toThrow();
  const short = errOf(set(crtc.id, crtc.props.GAMMA_LUT.id, blob(1023 * 8)));
  expect([short.code, short.message]).toEqual(['EINVAL', expect.stringMatching(/invalid LUT size; got 1023, expected 1024/)]);
  expect(errOf(set(crtc.id, crtc.props.GAMMA_LUT.id, blob(8191))).code).toBe('EINVAL');
  expect(set(crtc.id, crtc.props.CTM.id, blob(72))).not.toThrow();
  expect(errOf(set(crtc.id, crtc.props.CTM.id, blob(64))).code).toBe('EINVAL');
  const cp = hdmi.props['Content Protection'];
  const value = (name: string) => cp.enums!.find((e) => e.name === name)!.value;
  expect(set(hdmi.id, cp.id, value('Desired'))).not.toThrow();
  expect(errOf(set(hdmi.id, cp.id, value('Enabled'))).code).toBe('EINVAL');
  expect(errOf(set(f.primary.id, f.primary.props.alpha.id, 65536n)).code).toBe('EINVAL');
  expect(errOf(set(crtc.id, crtc.props.GAMMA_LUT_SIZE.id, 256n)).code).toBe('EINVAL'); // immutable
});
