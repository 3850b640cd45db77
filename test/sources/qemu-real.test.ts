import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simScreenshot } from '../../src/daemon/screenshot';
import { startBus } from '../../src/demo/processes';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { renderCrtc } from '../../src/kernel/sim/render';
import { readTopology } from '../../src/kernel/topology';
import { EventHub, FramePipeline } from '../../src/sources/pipeline';
import { attachDisplay } from '../../src/sources/qemu-attach';
import { DisplayListener } from '../../src/sources/qemu-listener';
import { ScanoutTarget } from '../../src/sources/scanout-target';
import { REPO } from '../helpers/fixtures';

jest.setTimeout(60_000);

const QEMU = 'qemu-system-x86_64';

test("a real QEMU's D-Bus display: we register as listener and its firmware screen reaches the simulated monitor", async () => {
  // Not skippable: without QEMU this lane proves nothing, so it fails and says how to fix it.
  const v = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (v.error) throw new Error(`${QEMU} is missing: install the Debian package qemu-system-x86 (scripts/setup.sh does)`);
  const bus = startBus();
  let qemu: ChildProcess | undefined;
  let host: Host | undefined;
  const cleanups: (() => void)[] = [];
  try {
    // TCG explicitly: /dev/kvm on these machines hangs guests.
    qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '64', '-nodefaults', '-vga', 'std', '-display', `dbus,addr=${bus.address}`, '-monitor', 'none', '-serial', 'none'], { stdio: 'ignore' });
    host = openHost('sim:vkms', { vblank: 'timer' });
    const dev = host.backend.openKms(host.cards()[0]);
    cleanups.push(() => dev.close());
    const t = readTopology(dev);
    const crtc = t.crtcs[0].id;
    const overlay = t.planes.find((p) => p.type === 'overlay')!;
    const pipeline = new FramePipeline(dev, crtc, new EventHub(dev), () => undefined);
    cleanups.push(() => pipeline.stop());
    let att: Awaited<ReturnType<typeof attachDisplay>> | undefined;
    let last: Error | undefined;
    for (let i = 0; i < 100 && !att; i++) {
      try {
        att = await attachDisplay(bus.address, { console: null, pci: '0000:00:02.0' }, 3000);
      } catch (e) {
        last = e as Error; // QEMU has not taken its bus name yet
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!att) throw new Error(`could not attach to QEMU's console 0: ${last?.message}`);
    const members: string[] = [];
    att.link.on('message', (m) => members.push(String(m.member)));
    const plane = { key: 'p', from: 'primary' as const, planeId: overlay.id, planeType: 'overlay' as const, fbId: 0, src: { x: 0, y: 0, w: 1, h: 1 }, dst: { x: 0, y: 0, w: 1, h: 1 }, zpos: null, setZpos: false };
    const listener = new DisplayListener(att.link, new ScanoutTarget(dev, t, plane, crtc, pipeline, 'guest'));
    cleanups.push(() => listener.close(), () => att!.detach());
    expect(att.console).toMatchObject({ index: 0, label: 'VGA', deviceAddress: 'pci/0000/02.0' });
    // SeaBIOS draws text within a second or two under TCG; wait until the top-left has text in it.
    let distinct = 0;
    for (let i = 0; i < 100 && distinct < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const pic = renderCrtc(host.sim!.card, crtc);
      const seen = new Set<number>();
      for (let y = 0; y < 16; y++) for (let x = 0; x < 200; x++) seen.add(pic.rgba.readUInt32LE((y * pic.width + x) * 4));
      distinct = seen.size;
    }
    mkdirSync(join(REPO, 'out'), { recursive: true });
    writeFileSync(join(REPO, 'out', 'qemu-firmware-screen.png'), simScreenshot(host.sim!, 'Virtual-1'));
    expect(members[0]).toBe('GetAll'); // QEMU asks the listener first, as measured
    expect(members).toContain('Scanout');
    expect(pipeline.counters.flipped).toBeGreaterThan(0);
    expect(distinct).toBeGreaterThanOrEqual(2); // text on the firmware screen, not a blank frame
  } finally {
    for (const c of cleanups.reverse()) c();
    qemu?.kill('SIGKILL');
    host?.close();
    bus.stop();
  }
});
