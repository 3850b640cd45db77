import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/daemon/engine';
import { openHost } from '../../src/kernel/host';
import type { Host } from '../../src/kernel/host';
import { dumpProperties } from '../../src/kernel/topology';

/**
 * What the engine-level daemon tests start from: per test a fresh simulated host (a test may
 * swap it for another profile) and run directory, a logger that keeps its lines, and another
 * client's view of the card. An engine a test keeps in `rig.engine` is shut down before the host
 * is closed.
 */
export function engineRig(profile = 'sim:gvt-skylake') {
  const lines: string[] = [];
  const rig = {
    run: '',
    host: null as unknown as Host,
    engine: undefined as Engine | undefined,
    lines,
    log: (level: string, domain: string | null, msg: string) => void lines.push(`${level} ${domain ?? '-'} ${msg}`),
    /** Every property of every object, as another client of the card reads them. */
    observe(): Record<string, Record<string, string>> {
      const dev = rig.host.backend.openKms(rig.host.cards()[0]);
      try {
        return dumpProperties(dev);
      } finally {
        dev.close();
      }
    },
  };
  beforeEach(() => {
    rig.run = mkdtempSync(join(tmpdir(), 'directflip-run-'));
    rig.host = openHost(profile);
    lines.length = 0;
  });
  afterEach(async () => {
    await rig.engine?.shutdown();
    rig.engine = undefined;
    rig.host.close();
    rmSync(rig.run, { recursive: true, force: true });
  });
  return rig;
}
