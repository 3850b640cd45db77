import { ConfigError } from '../config';
import { configFor, hostConfigCandidates, misnamedHostConfigs, misnamedNote } from '../config/host-config';
import type { DomainConfig, PlaneConfig } from '../config';
import { decodeXml } from '../config/decode';
import { attr, childElements, parseXml, plainChild, plainChildren } from '../config/xml';
import type { ProbeReport } from '../probe/probe';
import type { CheckResult } from './types';

const GRAB = `<input type='evdev'><source dev='/dev/input/by-id/YOUR-KEYBOARD-event-kbd' grab='all' grabToggle='ctrl-ctrl' repeat='on'/></input>`;

type Result = Omit<CheckResult, 'scope' | 'domain'>;

/** Which source a plane will use: what `auto` resolves to from how its mdev answered (design §3). */
function sourceOf(p: PlaneConfig, gvtFb: ReadonlySet<string>): 'gvt-fb' | 'qemu-dbus' | 'vfio' {
  if (p.source !== 'auto') return p.source;
  return p.mdev !== null && gvtFb.has(p.mdev) ? 'gvt-fb' : 'qemu-dbus';
}

/** One domain XML against this host: its connectors, mdevs, D-Bus display and input. */
export function domainChecks(file: string, xml: Buffer, root: string, probe: ProbeReport | null, gvtFb: ReadonlySet<string>, autoCreatesMdevs: boolean): CheckResult[] {
  let c: DomainConfig;
  let from: ReturnType<typeof configFor>;
  try {
    from = configFor(xml, root);
    c = from.config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [{ id: 'domain.config', scope: 'domain', domain: file, mark: 'fail', text: `${file}: ${e.message}`, fix: `correct ${file} as the message says; \`directflip validate ${file}\` checks it again` }];
  }
  const at = (r: Result): CheckResult => ({ ...r, scope: 'domain', domain: c.name });
  if (!c.directflip) {
    const misnamed = misnamedHostConfigs(c, root);
    if (misnamed.length) return [at({ id: 'domain.config', mark: 'fail', text: `domain ${c.name} (${file}) has no <directflip> in its <metadata>, and ${misnamedNote(misnamed[0], c, root)}`, fix: `\`mv ${misnamed[0]} ${hostConfigCandidates(c, root)[0]}\`` })];
    return [at({ id: 'domain.config', mark: 'fail', text: `domain ${c.name} (${file}) has no <directflip> in its <metadata>, and none of ${hostConfigCandidates(c, root).join(', ')} exists: nothing would be shown`, fix: `\`directflip config --connector CONNECTOR --mdev UUID --domain ${file}\` prints it with the \`virsh metadata\` line that sets it` })];
  }
  const n = c.directflip.outputs.length;
  const where = from.origin === 'domains.d' ? `from ${from.file} (the domain's <metadata> has none)` : `from the domain's <metadata>${from.ignored ? `; ${from.ignored} is ignored while it has one` : ''}`;
  const out: CheckResult[] = [at({ id: 'domain.config', mark: 'ok', text: `domain ${c.name} (${file}): configuration valid, ${n} output${n === 1 ? '' : 's'}, ${where}` })];
  for (const o of c.directflip.outputs) out.push(at(connector(o.connector, probe)));
  const planes = c.directflip.outputs.flatMap((o) => o.planes);
  const uuids = [...new Set(planes.map((p) => p.mdev).filter((u): u is string => u !== null))];
  for (const uuid of uuids) out.push(at(mdev(c, uuid, planes.filter((p) => p.mdev === uuid), probe, gvtFb, autoCreatesMdevs)));
  const dbus = planes.filter((p) => sourceOf(p, gvtFb) === 'qemu-dbus');
  if (dbus.length) {
    out.push(at(c.graphics.length
      ? { id: 'domain.graphics', mark: 'ok', text: `<graphics type='dbus'/> is there for ${dbus.map((p) => p.path).join(', ')} (source qemu-dbus)` }
      : { id: 'domain.graphics', mark: 'fail', text: `${dbus.map((p) => p.path).join(', ')} will use source qemu-dbus, but the domain has no <graphics type='dbus'/>: QEMU exports no display to read`, fix: `add \`<graphics type='dbus'/>\` inside <devices> (\`virsh edit ${c.name}\`)` }));
  }
  for (const p of planes.filter((x) => sourceOf(x, gvtFb) === 'vfio')) {
    out.push(at({ id: 'domain.source', mark: 'fail', text: `${p.path}: source vfio is refused at prepare: from start on the guest's QEMU holds the mdev (EBUSY, ESRCH for GVT-g)`, fix: `set ${p.path}/@source to qemu-dbus (or auto), with display='on' on the <hostdev> and <graphics type='dbus'/>` }));
  }
  out.push(at(evdev(xml)));
  return out;
}

/** A writeback connector drives no monitor: it is never offered. */
function connector(name: string, probe: ProbeReport | null): Result {
  if (!probe) return { id: 'domain.connector', mark: 'fail', text: `connector ${name}: the card could not be read`, fix: 'fix the DRM device first (see the drm lines above)' };
  const k = probe.connectors.find((x) => x.name === name);
  if (!k) return { id: 'domain.connector', mark: 'fail', text: `connector ${name} does not exist on ${probe.card}`, fix: `set output/@connector to one of ${probe.connectors.filter((x) => !x.name.startsWith('Writeback-')).map((x) => x.name).join(', ')}` };
  if (k.status !== 'connected') return { id: 'domain.connector', mark: 'fail', text: `connector ${name} on ${probe.card} is ${k.status}`, fix: `plug a monitor into ${name} (\`cat /sys/class/drm/*-${name}/status\` says connected once it is seen)` };
  return { id: 'domain.connector', mark: 'ok', text: `connector ${name} on ${probe.card} is present and connected` };
}

function mdev(c: DomainConfig, uuid: string, planes: PlaneConfig[], probe: ProbeReport | null, gvtFb: ReadonlySet<string>, autoCreates: boolean): Result {
  const hostdev = c.mdevs.find((m) => m.uuid === uuid)!;
  const exists = probe?.mdevs.some((m) => m.uuid === uuid) ?? false;
  const needsDisplay = planes.some((p) => sourceOf(p, gvtFb) === 'qemu-dbus');
  if (needsDisplay && hostdev.display !== 'on') {
    return { id: 'domain.mdev', mark: 'fail', text: `mdev ${uuid} has no display='on' on its <hostdev>: QEMU gives its planes to no display, so qemu-dbus sees nothing`, fix: `add display='on' to the <hostdev> of ${uuid} (\`virsh edit ${c.name}\`)` };
  }
  const disp = needsDisplay ? " with display='on'" : '';
  if (exists) return { id: 'domain.mdev', mark: 'ok', text: `mdev ${uuid} exists${disp}` };
  if (autoCreates) return { id: 'domain.mdev', mark: 'warn', text: `mdev ${uuid} does not exist yet; this host creates a domain's mdevs at prepare${disp}` };
  return { id: 'domain.mdev', mark: 'fail', text: `mdev ${uuid} does not exist: libvirt cannot start the domain`, fix: `\`mdevctl start -u ${uuid} -p PARENT --type TYPE\` (and \`mdevctl define --auto -u ${uuid}\` to keep it)` };
}

/** No evdev input: the guest on a host monitor usually wants the host's keyboard and mouse. */
function evdev(xml: Buffer): Result {
  let has = false;
  try {
    const devices = plainChild(parseXml(decodeXml(xml)), 'devices');
    has = !!devices && plainChildren(devices, 'input').some((i) => attr(i, 'type') === 'evdev' && childElements(i).length > 0);
  } catch {
    // parseDomainXml already accepted it; nothing more to say
  }
  return has
    ? { id: 'domain.input', mark: 'ok', text: 'an <input type=\'evdev\'> passes a host keyboard or mouse to the guest' }
    : { id: 'domain.input', mark: 'warn', text: 'no <input type=\'evdev\'>: a guest on a host monitor usually wants the host\'s keyboard and mouse', fix: `add inside <devices>, per device: ${GRAB} (both Ctrl keys switch it between host and guest)` };
}
