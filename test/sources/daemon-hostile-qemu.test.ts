import { fakeQemuGuests } from '../helpers/fake-qemu-guests';
import type { StreamRow } from '../helpers/fake-qemu-guests';

/**
 * Two guests on one monitor, each read from its own QEMU's D-Bus display, in a real daemon
 * process. One QEMU turns hostile and sends a malformed Listener call: that guest's stream ends
 * as `failed` with the reason, the daemon stays up, and the other guest keeps flipping.
 */
jest.setTimeout(60_000);

const guests = [
  { name: 'df-guest-a', uuid: '6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1ca1', x: 0 },
  { name: 'df-guest-b', uuid: '6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1cb2', x: 512 },
];
const rig = fakeQemuGuests(guests);
const rowOf = (rows: StreamRow[], name: string) => rows.find((r) => r[0] === name);
const until = (ok: (rows: StreamRow[]) => boolean) => rig.until(ok, 200);

test('a malformed message from one QEMU fails that stream alone; the daemon stays up and the other guest keeps flipping', async () => {
  for (const r of rig.start()) expect([r.guest, r.op, r.status, r.stderr]).toEqual([r.guest, r.op, 0, '']);
  const flipping = (rows: StreamRow[]) => guests.every((g) => rowOf(rows, g.name)?.[3] === 'streaming' && rowOf(rows, g.name)![6] > 0);
  expect(flipping(await until(flipping))).toBe(true);

  rig.qemus[0].stdin!.write('hostile\n');
  const failed = await until((rows) => rowOf(rows, 'df-guest-a')?.[3] === 'failed');
  expect(rowOf(failed, 'df-guest-a')!.slice(3, 5)).toEqual(['failed', expect.stringMatching(/malformed call: UpdateDMABUF came with the signature "us", not "iiii"/)]);
  const before = rowOf(failed, 'df-guest-b')![6];
  const later = await until((rows) => rowOf(rows, 'df-guest-b')![6] >= before + 10);
  expect(rowOf(later, 'df-guest-b')!.slice(3, 4)).toEqual(['streaming']);
  expect(rowOf(later, 'df-guest-b')![6]).toBeGreaterThanOrEqual(before + 10);
  expect(rig.daemon.proc.exitCode).toBeNull();
  expect(rig.daemon.log()).toMatch(/df-guest-a.*malformed call/);
  expect(rig.stop()).toEqual([0, 0, 0, 0]);
});
