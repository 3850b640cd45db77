import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeModeInfo } from '../../src/kernel/blobs';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { renderCrtc } from '../../src/kernel/sim/render';
import { DRM_CLIENT_CAP, DRM_MODE_ATOMIC } from '../../src/kernel/constants';

/**
 * The simulated kernel outlives the process that used it (issue 13 item 6): a process on a
 * --root is SIGKILLed, and the next host on that root shows what a real kernel would after
 * closing the dead process's files: its fbs gone, the planes that showed them off, and fbdev's
 * console back at the last close (drm_lastclose), at fbcon's own mode.
 */

const DIST = resolve(__dirname, '../../dist');
let root: string;
const hosts: Host[] = [];
let child: ChildProcess | undefined;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'directflip-outlive-'));
});
afterEach(async () => {
  for (const h of hosts.splice(0)) h.close();
  if (child && child.exitCode === null && !child.signalCode) await kill(child);
  rmSync(root, { recursive: true, force: true });
});

function open(profile: string): Host {
  const h = openHost(`sim:${profile}`, { root });
  hosts.push(h);
  return h;
}

function startChild(profile: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [join(__dirname, 'outlive-child.js'), DIST, root, profile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = c;
  let out = '';
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  return new Promise((res, rej) => {
    c.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('READY')) res(c);
    });
    c.once('exit', (code) => rej(new Error(`child exited ${code}: ${err}`)));
  });
}

function kill(c: ChildProcess): Promise<void> {
  return new Promise((res) => {
    c.once('exit', () => res());
    c.kill('SIGKILL');
  });
}

/** Every plane, CRTC and connector as a monitor and the kernel would tell them apart. */
function display(h: Host) {
  const card = h.sim!.card;
  const v = (id: number, k: string) => card.state.get(id)!.get(k)!;
  return {
    crtcs: card.built.crtcs.map((c) => {
      const blob = card.blobs.get(Number(v(c.id, 'MODE_ID')));
      const mode = blob ? decodeModeInfo(blob.data) : null;
      return { active: v(c.id, 'ACTIVE'), mode: mode && `${mode.hdisplay}x${mode.vdisplay}@${mode.vrefresh}` };
    }),
    connectors: card.built.connectors.map((c) => [c.name, v(c.id, 'CRTC_ID')]),
    planes: card.built.planes.map((p) => ['FB_ID', 'CRTC_ID', 'CRTC_X', 'CRTC_Y', 'CRTC_W', 'CRTC_H', 'SRC_W', 'SRC_H'].map((k) => v(p.id, k))),
  };
}

test('SIGKILL: the next host on the root shows fbcon again, as the last close of a real card does', async () => {
  const fresh = display(open('gvt-skylake'));
  const freshPicture = renderCrtc(hosts[0].sim!.card, hosts[0].sim!.card.built.crtcs[1].id);
  hosts.pop()!.close();
  rmSync(join(root, 'sim-kernel'), { recursive: true });

  const c = await startChild('gvt-skylake');
  const busy = (() => {
    try {
      openHost('sim:gvt-skylake', { root });
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    return null;
  })();
  expect(busy?.code).toBe('EBUSY'); // a second process cannot take a kernel that is in use
  await kill(c);

  const h = open('gvt-skylake');
  const card = h.sim!.card;
  expect(display(h)).toEqual(fresh);
  expect(card.built.connectors.map((x) => x.status)).toEqual([1, 1, 2]); // DP-1 was unplugged meanwhile
  expect(display(h).crtcs.map((x) => x.mode)).toEqual(['1920x1080@60', '1920x1080@60', null]);
  // Only the kernel's own fbs are left, and no blob of the dead process.
  expect([...card.fbs.values()].every((f) => f.owner === null)).toBe(true);
  expect(card.fbs.size).toBe(card.console.length);
  expect([...card.blobs.keys()].every((id) => card.built.blobs.has(id))).toBe(true);
  expect(renderCrtc(card, card.built.crtcs[1].id).rgba.equals(freshPicture.rgba)).toBe(true);
  // The dead process's ids are free again: the idr hands out the lowest free one.
  const dev = h.backend.openKms(h.cards()[0]);
  expect(dev.createPropBlob(Buffer.from('x'))).toBe(Math.max(card.built.lastId(), ...card.fbs.keys()) + 1);
  dev.close();
});

test('GVT-g kernel fbs and the mdev outlive the process; fbdev still takes the overlays off at the last close', async () => {
  await startChild('gvt-skylake-directflip');
  await kill(child!);
  const h = open('gvt-skylake-directflip');
  const card = h.sim!.card;
  const uuid = 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9';
  const m = h.sim!.vfio.mdevs.get(uuid)!;
  const kfb = m.drmFbs.get('primary')!;
  expect(card.fbs.get(kfb)?.owner).toBeNull();
  expect(h.sim!.vfio.directFlipFb(uuid, 'primary')).toBe(kfb); // the same id, as plane_id_index reads
  expect(existsSync(h.sys.mdevDevice(uuid))).toBe(true);
  const overlays = card.built.planes.filter((p) => p.type === 'overlay');
  expect(overlays.map((p) => card.state.get(p.id)!.get('FB_ID'))).toEqual(overlays.map(() => 0n));
});

test('a file closed while another stays open: its planes go dark, the CRTC keeps its mode (atomic_remove_fb)', () => {
  const h = open('gvt-skylake');
  const card = h.sim!.card;
  const a = h.backend.openKms(h.cards()[0]);
  const b = h.backend.openKms(h.cards()[0]);
  a.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const crtc = card.built.crtcs[1];
  const primary = card.built.planes.find((p) => p.type === 'primary' && p.possibleCrtcs & 2)!;
  const d = a.createDumb(1920, 1080, 32);
  const fb = a.addFb2({ width: 1920, height: 1080, pixelFormat: 0x34325258, flags: 0, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
  const pid = (n: string) => card.built.props.attached.get(primary.id)!.find((id) => card.built.props.byId.get(id)!.name === n)!;
  a.atomic([{ objectId: primary.id, propId: pid('FB_ID'), value: BigInt(fb) }], DRM_MODE_ATOMIC.NONBLOCK);
  const mode = card.state.get(crtc.id)!.get('MODE_ID');
  a.close();
  expect(card.state.get(primary.id)!.get('FB_ID')).toBe(0n);
  expect(card.state.get(crtc.id)!.get('ACTIVE')).toBe(1n);
  expect(card.state.get(crtc.id)!.get('MODE_ID')).toBe(mode);
  b.close(); // the last close: fbcon is back
  expect(card.state.get(primary.id)!.get('FB_ID')).toBe(BigInt(card.console.find((c) => c.crtcId === crtc.id)!.fbId));
});

test('per-frame flips between a process\'s own fbs are not written; moving a plane is', () => {
  const h = open('gvt-skylake');
  const card = h.sim!.card;
  const file = join(root, 'sim-kernel', 'state.json');
  const dev = h.backend.openKms(h.cards()[0]);
  dev.setClientCap(DRM_CLIENT_CAP.ATOMIC, 1);
  const primary = card.built.planes.find((p) => p.type === 'primary' && p.possibleCrtcs & 2)!;
  const pid = (n: string) => card.built.props.attached.get(primary.id)!.find((id) => card.built.props.byId.get(id)!.name === n)!;
  const fb = () => {
    const d = dev.createDumb(1920, 1080, 32);
    return dev.addFb2({ width: 1920, height: 1080, pixelFormat: 0x34325258, flags: 0, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
  };
  dev.atomic([{ objectId: primary.id, propId: pid('FB_ID'), value: BigInt(fb()) }], 0);
  const written = readFileSync(file, 'utf8');
  for (let i = 0; i < 5; i++) dev.atomic([{ objectId: primary.id, propId: pid('FB_ID'), value: BigInt(fb()) }], 0);
  expect(readFileSync(file, 'utf8')).toBe(written);
  dev.atomic([{ objectId: primary.id, propId: pid('CRTC_X'), value: 0n }, { objectId: primary.id, propId: pid('SRC_X'), value: 0n }], 0);
  expect(readFileSync(file, 'utf8')).toBe(written); // nothing changed, nothing written
  dev.atomic([{ objectId: primary.id, propId: pid('FB_ID'), value: BigInt(card.console[1].fbId) }], 0);
  expect(readFileSync(file, 'utf8')).not.toBe(written); // back on a kernel fb: that outlives us
  dev.close();
});

test('--root never deletes what it did not make: a foreign sys/ is refused and kept', () => {
  mkdirSync(join(root, 'sys'));
  writeFileSync(join(root, 'sys', 'precious'), 'mine');
  let err: NodeJS.ErrnoException | undefined;
  try {
    open('vkms');
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  expect(err?.code).toBe('EDF_HOST');
  expect(err?.message).toContain(`${join(root, 'sys')} exists and was not made by a simulated host`);
  expect(readFileSync(join(root, 'sys', 'precious'), 'utf8')).toBe('mine');
  rmSync(join(root, 'sys'), { recursive: true });
  // A tree the simulated host made is its own to rebuild.
  open('vkms').close();
  hosts.pop();
  expect(() => open('vkms')).not.toThrow();
});
