import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fakeQemuGuests } from '../helpers/fake-qemu-guests';
import type { StreamRow } from '../helpers/fake-qemu-guests';
import { REPO } from '../helpers/fixtures';

/**
 * A real daemon on sim:vkms reading a guest whose QEMU plays 10.0's Listener.Unix.Map: status
 * says which path the stream takes and the bytes it copies per frame. QEMU 10.0's unsealed memfd
 * is copied, the damage only (8x8 squares here, 256 bytes, beside a 12288-byte picture); a memfd
 * sealed against shrinking is scanned out in place through the simulated /dev/udmabuf: 0 bytes.
 */
jest.setTimeout(60_000);

const guest = { name: 'df-guest-map', uuid: '6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1cc3', x: 0 };
const flipping = (rows: StreamRow[]) => rows[0]?.[3] === 'streaming' && rows[0][6] > 20;
const perFrame = (r: StreamRow) => Number(r[8]) / r[5];
const statusText = (address: string) => spawnSync(process.execPath, [join(REPO, 'bin', 'directflip'), 'status', '--bus', address], { encoding: 'utf8' }).stdout;

describe("QEMU 10.0's memfd (no seals)", () => {
  const rig = fakeQemuGuests([guest], { script: 'fake-qemu-map.js' });

  test('is served through Listener.Unix.Map, copied, the damage only; status shows both', async () => {
    for (const r of rig.start()) expect([r.op, r.status, r.stderr]).toEqual([r.op, 0, '']);
    const rows = await rig.until(flipping, 200);
    expect(rows[0].slice(0, 4)).toEqual([guest.name, 'directflip/output[1]/plane[1]', 'qemu-dbus', 'streaming']);
    expect(rows[0][4]).toMatch(/showing 64x48 map copying \(the memfd is not sealed against shrinking \(F_SEAL_SHRINK\), which udmabuf requires\); \d+ bytes copied per frame$/);
    // The first picture is copied whole, and once more into each of the two spare buffers when
    // it is first used; every later frame copies its 256-byte square into a free buffer, plus the
    // squares that buffer missed, each at most once: two per frame, amortised.
    const later = await rig.until((r) => r[0][5] >= rows[0][5] + 50, 200);
    const [frames, bytes] = [later[0][5], Number(later[0][8])];
    expect(bytes).toBeGreaterThanOrEqual(12288 + (frames - 1) * 256);
    expect(bytes).toBeLessThanOrEqual(3 * 12288 + (frames - 1) * 3 * 256);
    expect(perFrame(later[0])).toBeLessThan(12288 / 4);
    expect(statusText(rig.ours.address)).toMatch(/streaming .*\d+(\.\d)? KiB \(\d+(\.\d)? (B|KiB)\/frame\)/);
    expect(rig.stop()).toEqual([0, 0]);
  });
});

describe('a memfd sealed against shrinking', () => {
  const rig = fakeQemuGuests([guest], { script: 'fake-qemu-map.js', args: ['sealed'] });

  test('is scanned out in place through udmabuf: 0 bytes copied per frame', async () => {
    for (const r of rig.start()) expect([r.op, r.status, r.stderr]).toEqual([r.op, 0, '']);
    const rows = await rig.until(flipping, 200);
    expect(rows[0][4]).toMatch(/showing 64x48 map via udmabuf; 0 bytes copied per frame$/);
    expect(rows[0][8]).toBe(0n);
    expect(statusText(rig.ours.address)).toMatch(/streaming .*0 B \(0 B\/frame\)/);
    expect(rig.stop()).toEqual([0, 0]);
  });
});
