import { join } from 'node:path';
import { forkBus } from '../../src/demo/processes';
import type { PrivateBus } from '../../src/demo/processes';
import { REPO } from './fixtures';

/**
 * A private dbus-daemon configured like Debian's system bus: its default policy (copied from
 * /usr/share/dbus-1/system.conf: deny method calls and ownership, allow signals and receiving),
 * root's monitoring rule, and then the policy directflip ships, included from data/.
 */
export function startSystemLikeBus(): PrivateBus {
  return forkBus(
    'directflip-sysbus-',
    (socket) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>${join(REPO, 'data', 'io.github.directflip1.conf')}</include>
</busconfig>`,
  );
}
