import { runCli, STACK_RE } from '../helpers/cli';

test('probe --host sim:gvt-skylake --json: 3 connectors, 3 CRTCs, 15 planes, 2 mdevs that GVT-g will not open for us', () => {
  const r = runCli(['probe', '--host', 'sim:gvt-skylake', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect([j.connectors.length, j.crtcs.length, j.planes.length, j.mdevs.length]).toEqual([3, 3, 15, 2]);
  expect(j.mdevs[0]).toMatchObject({ parent: '0000:00:02.0', type: 'i915-GVTg_V5_4', errorCode: 'ESRCH', methods: [] });
  expect(j.mdevs[0].unavailable).toMatch(/only the VM's QEMU may open it \(ESRCH\)/);
  expect(j.planes.filter((p: { type: string }) => p.type === 'cursor')).toHaveLength(3);
  expect(j.connectors.find((c: { name: string }) => c.name === 'HDMI-A-1').crtcId).toBeGreaterThan(0);
});

test('probe --host sim:vkms --json: 10 planes and the mbochs mdev with a DMABUF primary plane', () => {
  const r = runCli(['probe', '--host', 'sim:vkms', '--json']);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.planes).toHaveLength(10);
  expect(j.mdevs).toHaveLength(1);
  expect(j.mdevs[0]).toMatchObject({ parent: 'mbochs', type: 'mbochs-medium', methods: ['dmabuf'] });
  expect(j.mdevs[0].planes[0]).toEqual({ plane: 'primary', format: 'XR24', modifier: 'LINEAR', width: 1024, height: 768 });
  expect(j.mdevs[0].planes[1].format).toBeNull();
});

test('probe prints readable tables', () => {
  const r = runCli(['probe', '--host', 'sim:gvt-skylake']);
  expect(r.status).toBe(0);
  for (const want of ['Connectors', 'HDMI-A-1', 'CRTCs', 'Planes', 'mdevs', 'ESRCH']) expect(r.stdout).toContain(want);
});

test('probe on a host without DRM says so and how to try the simulator', () => {
  const r = runCli(['probe']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/no DRM device under \/dev\/dri.*--host sim:gvt-skylake/);
  expect(r.stderr).not.toMatch(STACK_RE);
  const j = runCli(['probe', '--json', '--host', 'sim:missing']);
  expect(j.status).toBe(1);
  expect(JSON.parse(j.stdout).error.message).toMatch(/known profiles/);
});

test('probe --help explains --host with examples', () => {
  const r = runCli(['probe', '--help']);
  for (const want of ['--host', 'sim:PROFILE', '--json', 'Examples:', 'EBUSY', 'ESRCH']) expect(r.stdout).toContain(want);
});
