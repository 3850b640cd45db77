import type { Argv, CommandModule } from 'yargs';
import { callManager } from '../../daemon/client';
import type { CallError } from '../../daemon/client';
import { escapeLogText } from '../../daemon/log';
import { busAddress } from '../../daemon/names';
import { daemonOptions } from '../daemon-options';
import { svgFileArg } from '../options';
import { CliError, printJson } from '../output';
import { table } from '../table';
import { statusPicture } from '../../svg/from-status';
import { cardPlanesOf } from '../../svg/status-card';
import { writePicture } from '../../svg/write';

interface Args {
  bus?: string;
  json: boolean;
  'timeout-ms': number;
  svg?: string;
}

type PlaneStruct = [string, string, number, number, string, string, string, [number, number, number, number], number];

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Ask directflipd which domains it shows, on which connector, CRTC and planes',
  builder: (y: Argv) =>
    daemonOptions(y)
      .example('$0 status', 'The domains the system daemon knows')
      .option('svg', { type: 'string', coerce: svgFileArg, describe: 'Also draw each connector the daemon shows and every plane on it (host planes kept, guest planes by domain, cursors, zpos order) as an SVG picture in FILE' })
      .example('$0 status --json', 'The same as JSON')
      .example('$0 status --svg /tmp/screens.svg', 'Draw what is on each monitor')
      .epilogue(
        "Each domain's notes say where its configuration came from (`config: from the domain's <metadata>`, or the " +
          '/etc/directflip/domains.d file). Exit status: 0 answered, 1 the daemon is not running or refused.',
      ) as Argv<Args>,
  handler: async (args) => {
    const address = busAddress(args.bus);
    let body: unknown[];
    try {
      body = await callManager(address, 'Status', '', [], args['timeout-ms']);
    } catch (e) {
      const err = e as CallError;
      if (err.code === 'ENOTRUNNING' || err.code === 'ECONNREFUSED' || err.code === 'ENOENT') {
        throw new CliError(`directflipd is not running on ${address ?? 'the system bus'}: start it with \`systemctl start directflipd\` or \`directflip daemon\``, 1, { code: 'ENOTRUNNING' });
      }
      throw new CliError(`directflipd: ${err.message}`, 1, { code: err.dbusName ?? err.code });
    }
    // A daemon older than the Streams method simply has no streams to show.
    const streamRows = ((await callManager(address, 'Streams', '', [], args['timeout-ms']).catch(() => [[]]))[0] ?? []) as [string, string, string, string, string, number, number, number, bigint][];
    const streams = streamRows.map(([domain, plane, source, state, detail, received, flipped, dropped, bytesCopied]) => ({
      domain, plane, source, state, detail, received, flipped, dropped, bytesCopied: Number(bytesCopied), bytesPerFrame: received ? Math.round(Number(bytesCopied) / received) : 0,
    }));
    const domains = (body[0] as [string, string, PlaneStruct[], string[]][]).map(([domain, state, planes, notes]) => ({
      domain, state, notes,
      planes: planes.map(([connector, mode, crtc, plane, planeType, from, source, dst, zpos]) => ({ connector, mode, crtc, plane, planeType, from, source, dst: { x: dst[0], y: dst[1], w: dst[2], h: dst[3] }, zpos: zpos < 0 ? null : zpos })),
    }));
    if (args.svg) {
      const { card, why } = await cardPlanesOf(address, args['timeout-ms']);
      writePicture(args.svg, statusPicture(domains, card, why));
    }
    if (args.json) return printJson({ ok: true, domains, streams });
    if (!domains.length) return void process.stdout.write('directflipd shows no domain\n');
    const rows = domains.flatMap((d) => d.planes.map((p) => [d.domain, d.state, p.connector, `${p.crtc}`, p.mode, `${p.plane} ${p.planeType} ← guest ${p.from}`, p.source, `${p.dst.w}x${p.dst.h}+${p.dst.x}+${p.dst.y}`]));
    process.stdout.write(table(['DOMAIN', 'STATE', 'CONNECTOR', 'CRTC', 'MODE', 'PLANE', 'SOURCE', 'GEOMETRY'], rows));
    if (streams.length) {
      process.stdout.write('\n');
      process.stdout.write(table(['DOMAIN', 'PLANE', 'SOURCE', 'STATE', 'RECEIVED', 'FLIPPED', 'DROPPED', 'COPIED'], streams.map((s) => [s.domain, s.plane, s.source, s.state, `${s.received}`, `${s.flipped}`, `${s.dropped}`, `${bytes(s.bytesCopied)} (${bytes(s.bytesPerFrame)}/frame)`])));
      for (const s of streams) if (s.detail) process.stdout.write(`${escapeLogText(s.domain)}: ${escapeLogText(s.plane)}: ${escapeLogText(s.detail)}\n`);
    }
    for (const d of domains) for (const n of d.notes) process.stdout.write(`${escapeLogText(d.domain)}: ${escapeLogText(n)}\n`);
  },
};

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
