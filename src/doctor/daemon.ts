import { existsSync } from 'node:fs';
import { callManager } from '../daemon/client';
import type { CallError } from '../daemon/client';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok, onRoot, warn } from './types';

const POLICY = 'etc/dbus-1/system.d/io.github.directflip1.conf';
const ACTIVATION = 'usr/share/dbus-1/system-services/io.github.directflip1.service';

/** directflipd reachable on its bus (one Status call, bounded), and the D-Bus files install writes. */
export async function daemonChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const where = ctx.bus ?? 'the system bus';
  const activatable = existsSync(ctx.sys.at(ACTIVATION));
  const busOk = ok('daemon.bus', `a D-Bus daemon answers on ${where}`);
  try {
    const body = await callManager(ctx.bus, 'Status', '', [], ctx.timeoutMs);
    const n = Array.isArray(body[0]) ? body[0].length : 0;
    out.push(busOk, ok('daemon.running', `directflipd answers on ${where} (${n} domain${n === 1 ? '' : 's'} known)`));
  } catch (e) {
    const err = e as CallError;
    if (err.dbusName || err.code === 'ENOTRUNNING') out.push(busOk);
    if (err.code === 'ENOTRUNNING') {
      out.push(activatable
        ? warn('daemon.running', `directflipd is not running on ${where}; the bus starts it on the first call (its activation file is installed)`, 'to start it now: `systemctl start directflipd`')
        : fail('daemon.running', `directflipd is not running on ${where}, and no D-Bus activation file /${ACTIVATION} would start it`, `run \`${onRoot(ctx.sys, 'install')}\`, then \`systemctl start directflipd\``));
    } else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      out.push(fail('daemon.bus', `no D-Bus daemon listens on ${where} (${err.code}): neither the hook nor directflipd can talk`, 'start it: `systemctl start dbus`'));
    } else if (err.dbusName === 'org.freedesktop.DBus.Error.AccessDenied' || err.dbusName === 'io.github.directflip1.Error.AccessDenied') {
      out.push(fail('daemon.running', `directflipd on ${where} refused this caller (${err.dbusName}): only root may call it`, 'run `directflip doctor` as root (sudo)'));
    } else {
      out.push(fail('daemon.running', `directflipd did not answer on ${where}: ${err.message}`, 'see `journalctl -u directflipd`, then `systemctl restart directflipd`'));
    }
  }
  out.push(existsSync(ctx.sys.at(POLICY))
    ? ok('daemon.policy', `the D-Bus policy /${POLICY} is installed (only root may call or own io.github.directflip1)`)
    : fail('daemon.policy', `the D-Bus policy /${POLICY} is not installed: the system bus refuses to let directflipd own its name`, `run \`${onRoot(ctx.sys, 'install')}\``));
  return out;
}
