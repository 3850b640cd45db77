import { standardMode } from '../../src/kernel/sim/modes';
import type { TopoConnector, TopoCrtc } from '../../src/kernel/topology';
import { selectMode } from '../../src/kms/mode';

const modes = ['1920x1080@60', '1920x1080@50', '1920x1080@30', '1280x720@60', '3840x2160@30'].map((m, i) => standardMode(m, i === 0));
const conn = { name: 'HDMI-A-1', modes } as unknown as TopoConnector;
const off = { active: false, mode: null } as unknown as TopoCrtc;
const at50 = { active: true, mode: modes[1] } as unknown as TopoCrtc;
const label = (m: ReturnType<typeof selectMode>) => (typeof m === 'string' ? m : `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}`);

test('an exact mode with a refresh picks that refresh', () => {
  expect(label(selectMode({ kind: 'exact', width: 1920, height: 1080, refresh: 30 }, conn, off))).toBe('1920x1080@30');
});

test('without a refresh, the nearest to the running one (or 60 Hz) wins', () => {
  expect(label(selectMode({ kind: 'exact', width: 1920, height: 1080, refresh: null }, conn, off))).toBe('1920x1080@60');
  expect(label(selectMode({ kind: 'exact', width: 1920, height: 1080, refresh: null }, conn, at50))).toBe('1920x1080@50');
});

test('preferred is the connector\'s preferred mode; no @mode keeps the running mode, else preferred', () => {
  expect(label(selectMode({ kind: 'preferred' }, conn, at50))).toBe('1920x1080@60');
  expect(label(selectMode({ kind: 'current' }, conn, at50))).toBe('1920x1080@50');
  expect(label(selectMode({ kind: 'current' }, conn, off))).toBe('1920x1080@60');
});

test('a size or refresh the monitor lacks is a reason naming what it has', () => {
  expect(selectMode({ kind: 'exact', width: 2560, height: 1440, refresh: null }, conn, off)).toMatch(/has no 2560x1440 mode \(it has 1920x1080@60, 1920x1080@50/);
  expect(selectMode({ kind: 'exact', width: 1280, height: 720, refresh: 50 }, conn, off)).toMatch(/has no 1280x720@50 mode/);
});
