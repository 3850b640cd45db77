import type { Host } from '../kernel/host';

/**
 * What a domain's QEMU does to its hostdev mdevs on a simulated host: it opens their VFIO groups
 * when it starts and holds them until it exits (design §1), so the daemon's own open gets EBUSY
 * as on a real host. `running` at `started` (QEMU runs by then), not running at `stopped`. A
 * real host needs nothing: its QEMU does it.
 */
export function simQemuHolds(host: Host, mdevs: readonly string[], running: boolean): void {
  const vfio = host.sim?.vfio;
  if (!vfio) return;
  for (const uuid of new Set(mdevs)) {
    if (running ? vfio.ensureMdev(uuid) : vfio.mdevs.has(uuid)) vfio.holdByQemu(uuid, running);
  }
}
