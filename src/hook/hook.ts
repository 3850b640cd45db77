import { ConfigError } from '../config';
import type { DomainConfig } from '../config';
import { configFor } from '../config/host-config';
import { callManager } from '../daemon/client';
import type { CallError } from '../daemon/client';

/**
 * What libvirt's qemu hook does for one event. Returns the exit status; everything it says goes
 * to `say` (stderr): for migrate and restore, libvirt reads stdout as the new domain XML.
 *
 * prepare → Prepare; started → Activate; stopped/release → Release (never fails; it passes the
 * XML so the daemon finds the domain by its UUID, and an unusable XML as '' so it goes by name);
 * reconnect → Reconnect (never fails: a failing reconnect kills the VM); migrate → refused when
 * on-error="abort", else allowed with a warning; everything else → nothing.
 */
export interface HookEnv {
  busAddress?: string;
  timeoutMs: number;
  say: (line: string) => void;
  /** Where /etc/directflip/domains.d is (tests); the daemon must read the same one. */
  root?: string;
}

/** Refusals no on-error="warn" can soften: the request itself is wrong. */
const ALWAYS_ABORT = ['io.github.directflip1.Error.InvalidConfig', 'org.freedesktop.DBus.Error.InvalidArgs'];

export async function runHook(argv: string[], xml: Buffer, env: HookEnv): Promise<number> {
  const [domain = '', op = '', subop = '', extra = ''] = argv;
  const say = (msg: string) => env.say(`directflip: domain ${domain}: ${msg}`);
  const parse = (): DomainConfig | number => {
    try {
      // A domain whose metadata has none may be configured in domains.d (as the daemon reads it).
      return configFor(xml, env.root ?? '/').config;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      say(`invalid directflip configuration: ${e.message}`);
      return 1;
    }
  };
  const call = (member: string, body: string[]) => callManager(env.busAddress, member, 's'.repeat(body.length), body, env.timeoutMs);
  // A D-Bus string cannot hold NUL; such an XML is unusable anyway, and '' lets Release go by name.
  const text = xml.includes(0) ? '' : xml.toString('utf8');

  switch (op) {
    case 'prepare':
    case 'started': {
      const c = parse();
      if (typeof c === 'number') return c;
      if (!c.configured) return 0;
      if (c.name !== domain) {
        say(`libvirt names the domain ${JSON.stringify(domain)} but its XML's <name> is ${JSON.stringify(c.name)}: refusing to guess which domain this is`);
        return 1;
      }
      try {
        await call(op === 'prepare' ? 'Prepare' : 'Activate', [domain, text]);
        return 0;
      } catch (e) {
        const err = e as CallError;
        if (err.dbusName && ALWAYS_ABORT.includes(err.dbusName)) {
          say(`${err.dbusName.endsWith('InvalidConfig') ? 'invalid directflip configuration' : 'refused'}: ${err.message}`);
          return 1;
        }
        const why = err.code === 'ENOTRUNNING' || err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? `directflipd is not running (${err.message}); start it with systemctl start directflipd` : err.message;
        if (c.directflip!.onError === 'abort') {
          say(`cannot show the guest directly, and on-error="abort": ${why}`);
          return 1;
        }
        say(`warning: starting without direct flip (on-error="warn"): ${why}`);
        return 0;
      }
    }
    case 'stopped':
    case 'release':
      try {
        await call('Release', [domain, text, [op, subop, extra].filter(Boolean).join(' ')]);
      } catch (e) {
        say(`warning: release failed, nothing to undo here: ${(e as Error).message}`);
      }
      return 0;
    case 'reconnect':
      try {
        await call('Reconnect', [domain, text]);
      } catch (e) {
        say(`warning: could not re-adopt after the libvirt restart; the guest keeps running: ${(e as Error).message}`);
      }
      return 0;
    case 'migrate': {
      const c = parse();
      if (typeof c === 'number' || !c.configured) return 0;
      if (c.directflip!.onError === 'abort') {
        say('migration is refused: the guest is shown on this host\'s monitor (on-error="abort"); set on-error="warn" to allow it');
        return 1;
      }
      say('warning: migrating a directflip guest; it will not be shown directly on the destination unless configured there');
      return 0;
    }
    default:
      return 0;
  }
}
