import * as dbus from 'dbus-next';
import { simScreenshotOf } from '../../src/daemon/client';
import { connectBus } from '../../src/daemon/connect';
import { BUS_NAME, OBJECT_PATH, SIMULATOR_IFACE } from '../../src/daemon/names';
import { decodePng } from '../../src/util/png';
import { fakeQemuGuests } from '../helpers/fake-qemu-guests';
import type { StreamRow } from '../helpers/fake-qemu-guests';

/**
 * Two guests streaming onto one CRTC in a real daemon process while the simulated kernel answers
 * a storm of nonblocking commits with EBUSY: every refused commit is retried with the newest
 * frames, nothing stalls, the replaced frames are counted, and the last frame each guest sent is
 * the one on the monitor.
 */
jest.setTimeout(90_000);

const guests = [
  { name: 'df-storm-a', uuid: '7b1f4d3e-9c2e-4f68-8d4b-3a6e8f0c2da1', x: 0, last: 201 },
  { name: 'df-storm-b', uuid: '7b1f4d3e-9c2e-4f68-8d4b-3a6e8f0c2db2', x: 512, last: 123 },
];
const rig = fakeQemuGuests(guests);
const rowOf = (rows: StreamRow[], name: string) => rows.find((r) => r[0] === name)!;
const until = (ok: (rows: StreamRow[]) => boolean) => rig.until(ok, 300);

async function failNext(ioctl: string, errno: string, count: number): Promise<void> {
  const bus = await connectBus(rig.ours.address, 20_000);
  try {
    await bus.call(new dbus.Message({ destination: BUS_NAME, path: OBJECT_PATH, interface: SIMULATOR_IFACE, member: 'FailNext', signature: 'ssu', body: [ioctl, errno, count] }));
  } finally {
    bus.disconnect();
  }
}

test('an EBUSY storm on a shared CRTC loses no frame that should be shown, and counts the replaced ones', async () => {
  for (const r of rig.start()) expect(r.status).toBe(0);
  const flipped = (rows: StreamRow[], n: number) => guests.every((g) => rowOf(rows, g.name)?.[3] === 'streaming' && rowOf(rows, g.name)[6] >= n);
  const before = await until((rows) => flipped(rows, 1));
  expect(flipped(before, 1)).toBe(true);

  await failNext('DRM_IOCTL_MODE_ATOMIC', 'EBUSY', 200);
  const past = Math.max(...guests.map((g) => rowOf(before, g.name)[6]));
  const during = await until((rows) => flipped(rows, past + 20));
  expect(flipped(during, past + 20)).toBe(true);
  for (const g of guests) expect(rowOf(during, g.name)[4]).toMatch(/; \d+ commits refused busy and retried/);

  // Each guest's last frame: once nothing more comes, every frame was shown or replaced, and
  // the monitor shows the last ones.
  for (const [i, g] of guests.entries()) rig.qemus[i].stdin!.write(`freeze ${g.last}\n`);
  let settled: StreamRow[] = [];
  let previous = '';
  for (let i = 0; i < 100; i++) {
    settled = await rig.streams();
    const now = JSON.stringify(settled.map((r) => r.slice(5, 8)));
    if (now === previous && guests.every((g) => rowOf(settled, g.name)[5] === rowOf(settled, g.name)[6] + rowOf(settled, g.name)[7])) break;
    previous = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const g of guests) {
    const [, , , , , received, shown, replaced] = rowOf(settled, g.name);
    expect([g.name, received]).toEqual([g.name, shown + replaced]);
  }
  const pic = decodePng(await simScreenshotOf(rig.ours.address, 'Virtual-1', 20_000));
  const at = (x: number, y: number) => [...pic.rgba.subarray((y * pic.width + x) * 4, (y * pic.width + x) * 4 + 3)];
  for (const g of guests) expect([g.name, at(g.x + 4, 4)]).toEqual([g.name, [g.last, g.last, g.last]]);
  expect(rig.daemon.proc.exitCode).toBeNull();
  expect(rig.stop()).toEqual([0, 0, 0, 0]);
});
