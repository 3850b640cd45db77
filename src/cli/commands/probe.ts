import type { Argv, CommandModule } from 'yargs';
import { HOST_HELP, openHost } from '../../kernel/host';
import { probeHost } from '../../probe/probe';
import type { ProbeReport } from '../../probe/probe';
import { cleanupOnInterrupt } from '../interrupt';
import { printJson } from '../output';
import { table } from '../table';

interface Args {
  host: string;
  json: boolean;
}

export const probeCommand: CommandModule<object, Args> = {
  command: 'probe',
  describe: "Show the host's KMS topology and mdevs, and what each mdev supports",
  builder: (y: Argv) =>
    y
      .option('host', { type: 'string', default: 'native', describe: `Which host: ${HOST_HELP}` })
      .example('$0 probe', 'Probe this machine (needs root and a DRM driver)')
      .example('$0 probe --host sim:gvt-skylake', 'Probe the simulated Skylake GVT-g host')
      .example('$0 probe --host sim:vkms --json', 'The same data as JSON: connectors, crtcs, planes, mdevs')
      .epilogue(
        'Reads connectors, CRTCs and planes (formats, modifiers from IN_FORMATS, zpos, what each shows now) and, ' +
          "for each mdev in /sys/bus/mdev/devices, opens its VFIO group as QEMU would and asks which plane types it " +
          'answers: a kernel fb id (Intel\'s direct-flip kernel), a dma-buf, or a region. An mdev a running VM holds ' +
          'answers EBUSY, and a GVT-g vGPU answers ESRCH to anyone but its VM\'s QEMU; probe says so. Then the versions of ' +
          'QEMU (`qemu-system-x86_64 --version`), libvirt (`virtqemud --version` or `libvirtd --version`) and the kernel ' +
          '(`uname -r`), and which features they allow (Listener.Unix.Map from QEMU 9.2, the release hook\'s shutoff ' +
          'reason from libvirt 10.5, …). Nothing is changed.\n\n' +
          'Exit status: 0 probed, 1 the host could not be read.',
      ) as Argv<Args>,
  handler: (args) => {
    // A simulated host lives in a temporary directory: an interrupt must not leave it behind.
    let host: ReturnType<typeof openHost> | undefined;
    const registered = cleanupOnInterrupt(() => host?.close());
    try {
      host = openHost(args.host);
      const r = probeHost(host);
      if (args.json) printJson(r);
      else process.stdout.write(describe(r));
    } finally {
      host?.close();
      registered();
    }
  },
};

function describe(r: ProbeReport): string {
  const out: string[] = [`${r.host}: ${r.card}, driver ${r.driver.name} (${r.driver.desc}) ${r.driver.version}; cursor up to ${r.cursor.width}x${r.cursor.height}\n`];
  out.push('Connectors\n' + table(['ID', 'NAME', 'STATUS', 'CRTC', 'MODES'], r.connectors.map((c) => [String(c.id), c.name, c.status, c.crtcId ? String(c.crtcId) : '-', summary(c.modes)])));
  out.push('CRTCs\n' + table(['ID', 'PIPE', 'ACTIVE', 'MODE', 'FB'], r.crtcs.map((c) => [String(c.id), c.pipe, c.active ? 'yes' : 'no', c.mode ?? '-', c.fbId ? String(c.fbId) : '-'])));
  const pipe = (ids: number[]) => ids.map((id) => r.crtcs.find((c) => c.id === id)?.pipe ?? '?').join('');
  out.push('Planes\n' + table(['ID', 'TYPE', 'PIPES', 'ZPOS', 'SHOWING', 'FORMATS (modifiers)'], r.planes.map((p) => [
    String(p.id), p.type, pipe(p.possibleCrtcs), p.zpos === null ? '-' : String(p.zpos), p.fbId ? `fb ${p.fbId} on pipe ${pipe([p.crtcId])}` : 'off', formats(p.formats),
  ])));
  out.push('mdevs\n' + (r.mdevs.length ? table(['UUID', 'PARENT', 'TYPE', 'GROUP', 'PLANES'], r.mdevs.map((m) => [
    m.uuid, m.parent, m.type, String(m.iommuGroup),
    m.unavailable ?? (m.methods.length ? `${m.methods.join(', ')}: ${m.planes.map((p) => `${p.plane} ${p.format ? `${p.width}x${p.height} ${p.format} ${p.modifier}` : 'off'}`).join('; ')}` : 'no plane query supported'),
  ])) : 'none (no /sys/bus/mdev/devices entries)\n'));
  const v = r.versions;
  out.push(`Versions\nQEMU ${v.qemu?.version ?? 'not found'}, libvirt ${v.libvirt ? `${v.libvirt.version} (${v.libvirt.daemon})` : 'not found'}, kernel ${v.kernel?.version ?? 'unknown'}\n`);
  out.push('What these versions allow\n' + table(['FEATURE', 'ALLOWED', 'WHY'], r.features.map((f) => [f.id, f.allowed === null ? 'unknown' : f.allowed ? 'yes' : 'no', f.why])));
  return out.join('\n');
}

function summary(modes: string[]): string {
  return modes.length > 4 ? `${modes.slice(0, 4).join(' ')} (+${modes.length - 4})` : modes.join(' ') || '-';
}

function formats(f: ProbeReport['planes'][number]['formats']): string {
  const mods = [...new Set(f.flatMap((x) => x.modifiers))].map((m) => m.replace('I915_', '').replace('_TILED', ''));
  return `${f.map((x) => x.format).join(' ')} (${mods.join(', ')})`;
}
