import { existsSync, readFileSync } from 'node:fs';
import { allowedFeatures } from '../versions/allow';
import { atLeast, fact, short } from '../versions/facts';
import type { CheckResult, DoctorContext } from './types';
import { fail, ok, warn } from './types';

/** QEMU ≥ 7.0 and libvirt ≥ 8.4 for qemu-dbus, and which newer listener interfaces this QEMU has. */
export function versionChecks(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  const a = new Map(allowedFeatures(ctx.versions).map((f) => [f.id, f]));
  const q = ctx.versions.qemu;
  const needQ = short(fact('qemu-dbus-display').needs.qemu!);
  const needL = short(fact('libvirt-dbus-graphics').needs.libvirt!);
  if (!q) out.push(fail('versions.qemu-dbus', 'QEMU is not installed (no qemu-system-x86_64)', 'install it: `apt install qemu-system-x86`'));
  else if (a.get('qemu-dbus-display')!.allowed && a.get('libvirt-dbus-graphics')!.allowed) out.push(ok('versions.qemu-dbus', `QEMU ${q.version} (≥ ${needQ}) and libvirt ${ctx.versions.libvirt!.version} (≥ ${needL}): source qemu-dbus works`));
  else if (ctx.versions.libvirt) out.push(fail('versions.qemu-dbus', `source qemu-dbus needs QEMU ≥ ${needQ} and libvirt ≥ ${needL}; this host has QEMU ${q.version} and libvirt ${ctx.versions.libvirt.version}`, 'upgrade them: Debian 12 ships QEMU 7.2 and libvirt 9.0 (`apt install qemu-system-x86 libvirt-daemon-system`)'));
  const newer = (['listener-unix-map', 'listener-scanout-dmabuf2', 'listener-multiple'] as const).map((id) => a.get(id)!);
  if (q) {
    const have = newer.filter((f) => f.allowed).map((f) => f.id);
    const lack = newer.filter((f) => !f.allowed).map((f) => `${f.id} (QEMU ≥ ${short(fact(f.id).needs.qemu!)})`);
    out.push(lack.length
      ? warn('versions.listener', `QEMU ${q.version}${have.length ? ` has ${have.join(', ')} but` : ''} lacks ${lack.join(', ')}: guests get the base listener's copies for those`)
      : ok('versions.listener', `QEMU ${q.version} has ${have.join(', ')}`));
  }
  return out;
}

/** /dev/udmabuf: zero-copy for Listener.Unix.Map pixels. Missing but built as a module: load it. */
export function udmabufChecks(ctx: DoctorContext): CheckResult[] {
  if (existsSync(ctx.sys.at('dev/udmabuf'))) return [ok('udmabuf', `/dev/udmabuf is present: ${udmabufGives(ctx)}`)];
  const release = ctx.versions.kernel?.version;
  let dep = '';
  try {
    dep = release ? readFileSync(ctx.sys.at('lib/modules', release, 'modules.dep'), 'utf8') : '';
  } catch {
    // no module index: the module cannot be loaded by name
  }
  if (/(^|\/)udmabuf\.ko(\.[a-z]+)?:/m.test(dep)) {
    const q = ctx.versions.qemu?.version;
    const yet = q && !atLeast(q, '10.1.0') ? ` (loaded, it gives nothing yet: ${udmabufGives(ctx)})` : '';
    return [fail('udmabuf', `/dev/udmabuf is missing, but kernel ${release} has the udmabuf module: Listener.Unix.Map pixels are copied (the damage) instead of scanned out in place${yet}`, '`modprobe udmabuf` (and `echo udmabuf > /etc/modules-load.d/udmabuf.conf` to load it at boot)')];
  }
  return [warn('udmabuf', `/dev/udmabuf is missing and kernel ${release ?? '(unknown)'} has no udmabuf module (CONFIG_UDMABUF): pixels are copied (the damage only)`, 'a kernel built with CONFIG_UDMABUF=m gives zero-copy pixels')];
}

/**
 * What udmabuf buys with this QEMU: nothing before Listener.Unix.Map, and nothing on QEMU ≤ 10.0
 * either, whose memfds (qemu_memfd_alloc without MFD_ALLOW_SEALING) lack the F_SEAL_SHRINK
 * UDMABUF_CREATE requires; after that, only where QEMU seals the memfd, which status shows.
 */
function udmabufGives(ctx: DoctorContext): string {
  const q = ctx.versions.qemu?.version;
  const map = short(fact('listener-unix-map').needs.qemu!);
  if (!q) return 'QEMU is not installed, so nothing uses it yet';
  if (!atLeast(q, fact('listener-unix-map').needs.qemu!)) return `QEMU ${q} has no Listener.Unix.Map (QEMU ≥ ${map}), so nothing uses it: its plain consoles' pixels come in each message and are copied`;
  if (!atLeast(q, '10.1.0')) return `QEMU ${q}'s memfds are not sealed against shrinking (F_SEAL_SHRINK), which udmabuf requires, so Listener.Unix.Map consoles are copied (the damage only)`;
  return 'Listener.Unix.Map consoles whose memfd QEMU has sealed against shrinking are scanned out with no copy (status shows each stream\'s path)';
}
