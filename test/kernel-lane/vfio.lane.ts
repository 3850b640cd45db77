/**
 * VFIO on a real mbochs mdev, shown by real vkms: the capability probe (PROBE answers for DMABUF
 * only; Intel's PROBE|DRM is EINVAL), a disabled guest plane reads as no plane, the plane query
 * that describes the guest plane to the planner, a second opener of the group refused with EBUSY
 * (why the daemon cannot stream a running guest's mdev), and the guest plane's dma-buf — what
 * QEMU's vfio display sends the daemon — imported (PRIME) into vkms and shown pixel-exact.
 *
 * The "guest" writes the bochs dispi registers through BAR2 and its pixels through an mmap of
 * BAR0 (in life it reaches the same mdev through QEMU).
 */
import { parseDomainXml } from '../../src/config';
import { DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, VFIO } from '../../src/kernel/constants';
import { planeProps } from '../../src/kms/plane-props';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import type { Topology } from '../../src/kernel/topology';
import type { KmsDevice, VfioDevice } from '../../src/kernel/types';
import { Occupancy } from '../../src/kms/occupancy';
import { planDomain } from '../../src/kms/planner';
import { buildRequest, describeGuests } from '../../src/kms/request';
import type { BuiltRequest } from '../../src/kms/request';
import { TestOnlyJudge } from '../../src/kms/test-only';
import type { Plan } from '../../src/kms/types';
import { probeMdev } from '../../src/probe/mdev-caps';
import { gvtFbId } from '../../src/sources/gvt-fb';
import { vfioGuest } from '../../src/sources/resolve';
import { planeOff } from '../../src/sources/vfio-query';
import { listMdevs } from '../../src/sys/mdevs';
import type { Mdev } from './guest';
import { collectMappings, openVkmsDisplay, dumbFb, emitPng, freeFb, guestDisable, guestMode, guestPan, Image, mapVram, mbochsMdev, native, openMdev, paint, Writeback } from './guest';
import { loadAddon } from '../../src/kernel/native';
import type { DumbFb } from './guest';

const NS = 'https://directflip.github.io/xmlns/domain/1';
const GW = 320;
const GH = 240;
const AT = { x: 48, y: 40 };
const BACKGROUND = (x: number, y: number) => ((x * 3) & 0xff) | (((y * 5) & 0xff) << 8) | 0x400000;
const FRAME1 = (x: number, y: number) => (((x >> 3) ^ (y >> 3)) & 1 ? 0xffd700 : 0x1e90ff) ^ ((x * y) & 0x3f);
const FRAME2 = (x: number, y: number) => ((x & 0xff) << 16) | (((GW - x) & 0xff) << 8) | ((y * 2) & 0xff);

/** The guest draws `px` (0xRRGGBB) into lines [yOffset, yOffset + GH) of its 32 bpp framebuffer. */
function guestDraw(d: VfioDevice, yOffset: number, px: (x: number, y: number) => number): void {
  const vram = mapVram(d);
  // X byte 0x00 on purpose: an XRGB8888 scanout must ignore it.
  paint(vram.subarray(yOffset * GW * 4), GW, GH, GW * 4, (x, y) => px(x, y) & 0xffffff);
  // Unmapped now: a live mapping would hold the device file, and with it the group, after close.
  loadAddon().munmap(vram);
}

function expected(bg: (x: number, y: number) => number, frame: (x: number, y: number) => number): Image {
  const img = new Image(1024, 768);
  img.layer(0, 0, 1024, 768, bg);
  img.layer(AT.x, AT.y, GW, GH, frame);
  return img;
}

describe('VFIO on mbochs, shown on vkms, verified through writeback', () => {
  let m: Mdev;
  let dev: KmsDevice;
  let t: Topology;
  let wb: Writeback;
  let host: Host;
  let crtcId = 0;
  let built: BuiltRequest | null = null;
  let plan: Plan | null = null;
  let background: DumbFb | null = null;

  beforeAll(async () => {
    m = mbochsMdev('mbochs-medium');
    ({ dev, t, wb, crtcId } = await openVkmsDisplay());
    host = openHost('native');
    // Start from a guest that has not set a mode.
    const v = openMdev(m);
    try {
      guestDisable(v.d);
    } finally {
      v.close();
    }
  });

  afterAll(async () => {
    built?.standIns.cleanup();
    if (background) freeFb(dev, background);
    // Drop the mapping too: it holds the vkms file (and DRM master) until collected.
    background = null;
    dev.close();
    await collectMappings();
  });

  test("probe: mbochs answers PROBE|DMABUF only, and Intel's PROBE|DRM is EINVAL (no direct-flip ABI)", () => {
    const info = listMdevs(host.sys).find((x) => x.uuid === m.uuid);
    expect(info).toMatchObject({ uuid: m.uuid, parent: 'mbochs', type: 'mbochs-medium' });
    const r = probeMdev(host, info!);
    expect([r.unavailable, r.methods]).toEqual([null, ['dmabuf']]);
    const g = gvtFbId(host, m.uuid, 'primary');
    expect(g).toEqual({ why: 'the kernel lacks the local-display direct-flip ABI (PROBE|DRM answers EINVAL)' });
    const v = openMdev(m);
    try {
      let code = '';
      try {
        v.d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_PROBE | VFIO.GFX_PLANE_TYPE_DRM_OUT_OF_TREE, VFIO.PLANE_PRIMARY);
      } catch (e) {
        code = `${(e as { code?: string }).code} ${(e as { syscall?: string }).syscall}`;
      }
      expect(code).toBe('EINVAL VFIO_DEVICE_QUERY_GFX_PLANE');
    } finally {
      v.close();
    }
  });

  test('a guest that has set no mode has no plane: zeroed format and size', () => {
    const v = openMdev(m);
    try {
      const q = v.d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY);
      expect(planeOff(q)).toBe(true);
      expect([q.drmFormat, q.width, q.height, q.size]).toEqual([0, 0, 0, 0]);
    } finally {
      v.close();
    }
  });

  test('BAR0 through read()/write() and through mmap() is the same memory (the mbochs-bar0-offset patch)', async () => {
    // In a function of its own, so the mapping is garbage once it returns (see collectMappings).
    const check = () => {
      const v = openMdev(m);
      try {
        const bar0 = v.d.getRegionInfo(0);
        v.d.regionWrite(bar0.offset + 8192n, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
        const map = mapVram(v.d);
        expect([...map.subarray(8192, 8196)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
        map.writeUInt32LE(0x12345678, 4096);
        expect(v.d.regionRead(bar0.offset + 4096n, 4).readUInt32LE(0)).toBe(0x12345678);
      } finally {
        v.close();
      }
    };
    check();
    await collectMappings();
  });

  // No QEMU holds this mdev, so the lane queries it itself; the daemon refuses source vfio (a
  // running guest's mdev is its QEMU's), so the plane is described by VFIO's query here.
  test("VFIO's plane query describes the guest plane, and the planner puts it onto an overlay at an offset", () => {
    // The guest programs its mode first (dispi registers survive the close).
    const v = openMdev(m);
    try {
      guestMode(v.d, GW, GH, 0, GH * 2);
    } finally {
      v.close();
    }
    const config = parseDomainXml(`<domain type='kvm'><name>lane-vfio</name><metadata><df:directflip xmlns:df="${NS}">
      <df:output connector="Virtual-1"><df:plane from="primary" mdev="${m.uuid}" source="vfio" to="overlay" x="${AT.x}" y="${AT.y}"/></df:output>
      </df:directflip></metadata><devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='${m.uuid}'/></source></hostdev></devices></domain>`);
    built = buildRequest(dev, config, describeGuests(t, config, (p, size) => {
      const { refused, ...guest } = vfioGuest(host, m.uuid, p, size);
      if (refused) throw new Error(`mdev ${m.uuid} refused its VFIO open: ${refused}`);
      return { source: 'vfio' as const, why: 'the lane queries the mdev itself', guest };
    }));
    const key = Object.keys(built.sources)[0];
    expect(built.sources[key].source).toBe('vfio');
    expect(built.assumptions).toEqual({});
    const g = built.request.outputs[0].planes[0].guest;
    expect([g.width, g.height, g.modifier]).toEqual([GW, GH, 0n]);
    const judge = new TestOnlyJudge(dev, t);
    try {
      plan = planDomain(t, built.request, new Occupancy(), { testOnly: judge.judge, budgetMs: 5000 });
    } finally {
      judge.dispose();
    }
    const p = plan.outputs[0].planes[0];
    expect([p.planeType, p.dst]).toEqual(['overlay', { ...AT, w: GW, h: GH }]);
  });

  test('while one opener holds the mdev (as QEMU does for its guest), a second opener of its group gets EBUSY', () => {
    // Why the daemon refuses source="vfio": a running guest's mdev is its QEMU's.
    const first = openMdev(m);
    try {
      let code = '';
      try {
        openMdev(m).close();
      } catch (e) {
        code = (e as { code?: string }).code ?? String(e);
      }
      expect(code).toBe('EBUSY');
    } finally {
      first.close();
    }
    openMdev(m).close();
  });

  test("the guest plane's dma-buf (what QEMU's vfio display hands us) imports into vkms and shows pixel-exact", async () => {
    if (!plan) throw new Error('no plan (the planning test failed)');
    // A known background on the primary plane (fbdev's console is the host's, not ours).
    background = dumbFb(dev, 1024, 768);
    paint(background.map, 1024, 768, background.pitch, BACKGROUND);
    const primary = t.planes.find((p) => p.type === 'primary')!;
    const full = { x: 0, y: 0, w: 1024, h: 768 };
    dev.atomic(planeProps(t, { planeId: primary.id, crtcId, fbId: background.fb, src: full, dst: full }), DRM_MODE_ATOMIC.ALLOW_MODESET);
    const target = plan.outputs[0].planes[0];
    for (const [i, frame, y] of [[1, FRAME1, 0], [2, FRAME2, GH]] as const) {
      const v = openMdev(m);
      try {
        guestDraw(v.d, y, frame);
        guestPan(v.d, y);
        const q = v.d.queryGfxPlane(VFIO.GFX_PLANE_TYPE_DMABUF, VFIO.PLANE_PRIMARY);
        expect([q.width, q.height]).toEqual([GW, GH]);
        const fd = v.d.getGfxDmabuf(q.dmabufId);
        const handle = dev.primeFdToHandle(fd);
        native().closeFd(fd);
        const fb = dev.addFb2({ width: q.width, height: q.height, pixelFormat: q.drmFormat, flags: DRM_MODE_FB_MODIFIERS, handles: [handle], pitches: [q.stride], offsets: [0], modifiers: [q.drmFormatMod] });
        dev.atomic(planeProps(t, { planeId: target.planeId, crtcId, fbId: fb, src: { x: 0, y: 0, w: GW, h: GH }, dst: target.dst }), 0);
        const got = await wb.capture(crtcId);
        emitPng(`vfio-${i}-guest-frame`, got);
        expect(got.diff(expected(BACKGROUND, frame))).toEqual([]);
        const overlay = t.planes.find((p) => p.id === target.planeId)!;
        dev.atomic(['FB_ID', 'CRTC_ID'].map((n) => ({ objectId: overlay.id, propId: overlay.props[n].id, value: 0n })), 0);
        dev.rmFb(fb);
        dev.gemClose(handle);
      } finally {
        v.close();
      }
    }
  });
});
