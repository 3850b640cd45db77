/**
 * "16 VMs starting at once" (design §5): 16 Prepare calls in flight together against the daemon
 * on the simulated gvt-skylake host, against the same 16 one after another, in the same run.
 * Every call must end assigned or cleanly refused, and no host plane may be given twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callManager } from '../src/daemon/client';
import { startBus, startDaemon } from '../src/demo/processes';
import type { Row } from './table';
import { row } from './table';

const N = 16;
const NS = 'https://directflip.github.io/xmlns/domain/1';
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const xml = (i: number) => `<domain><name>vm${i}</name><metadata><directflip xmlns="${NS}"><output connector="HDMI-A-1">
  <plane from="primary" mdev="${uuid(i)}" to="overlay" x="${i * 8}" y="${i * 8}" width="960" height="540"/></output></directflip></metadata>
  <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev'><source><address uuid='${uuid(i)}'/></source></hostdev></devices></domain>`;

export interface Outcome {
  ms: number;
  assigned: number;
  refused: number;
  other: string[];
  planesTwice: boolean;
}

async function round(address: string, together: boolean): Promise<Outcome> {
  const call = (i: number) => callManager(address, 'Prepare', 'ss', [`vm${i}`, xml(i)], 30_000);
  const t0 = performance.now();
  const results = together
    ? await Promise.allSettled(Array.from({ length: N }, (_, i) => call(i)))
    : await (async () => {
        const out: PromiseSettledResult<unknown[]>[] = [];
        for (let i = 0; i < N; i++) out.push(...(await Promise.allSettled([call(i)])));
        return out;
      })();
  const ms = performance.now() - t0;
  const ok = results.filter((r): r is PromiseFulfilledResult<unknown[]> => r.status === 'fulfilled').map((r) => r.value);
  const bad = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as { dbusName?: string; message: string });
  const refused = bad.filter((e) => e.dbusName === 'io.github.directflip1.Error.Refused');
  const planes = ok.map((b) => (b[1] as unknown[][])[0][3] as number);
  for (let i = 0; i < N; i++) await callManager(address, 'Release', 'sss', [`vm${i}`, xml(i), 'bench'], 30_000);
  return { ms, assigned: ok.length, refused: refused.length, other: bad.filter((e) => !refused.includes(e)).map((e) => e.message), planesTwice: new Set(planes).size !== planes.length };
}

export async function concurrentStarts(): Promise<{ rows: Row[]; serial: Outcome; together: Outcome }> {
  const bus = startBus();
  const root = mkdtempSync(join(tmpdir(), 'directflip-bench-root-'));
  const daemon = await startDaemon(bus.address, 'sim:gvt-skylake', root);
  let serial: Outcome;
  let together: Outcome;
  try {
    serial = await round(bus.address, false);
    together = await round(bus.address, true);
  } finally {
    await daemon.stop();
    bus.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const clean = (o: Outcome) => o.assigned + o.refused === N && !o.other.length && !o.planesTwice;
  const why = (o: Outcome) => `${o.assigned} assigned, ${o.refused} refused${o.other.length ? `, failed: ${o.other[0]}` : ''}${o.planesTwice ? ', a plane given twice' : ''}`;
  const rows = [
    row({ row: `${N} Prepare calls at once, total`, budget: 'all assigned or refused cleanly; no plane twice', measured: together.ms, baseline: serial.ms, unit: 'ms', baselineWhat: `the same ${N} one after another`, note: `at once: ${why(together)}; in a row: ${why(serial)}` }, clean(together) && clean(serial)),
  ];
  return { rows, serial, together };
}
