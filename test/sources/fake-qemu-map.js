'use strict';
// Plays QEMU 10.0 with a D-Bus display on a VM bus, as fake-qemu.js does, but as 10.0 decides:
// it reads the listener's Interfaces property (the GetAll its GDBusProxy makes) and, when
// org.qemu.Display1.Listener.Unix.Map is listed, hands the console over once with ScanoutMap (a
// memfd made as qemu_memfd_alloc makes it: no MFD_ALLOW_SEALING, sized height * stride), then
// names the damage with UpdateMap while it draws into the memfd. A listener that does not list
// Map, or refuses ScanoutMap, gets Scanout as from older QEMUs.
//   node fake-qemu-map.js <bus address> [sealed]
// "sealed": the memfd is sealed against shrinking instead (a producer udmabuf can take).
const { ftruncateSync, writeSync } = require('node:fs');
const { connectBus } = require('../../dist/src/sources/display-bus.js');
const { MESSAGE, NO_REPLY_EXPECTED, PeerLink } = require('../../dist/src/sources/dbus-peer.js');
const { F_SEAL_SHRINK, MFD_ALLOW_SEALING, memfdAddSeals, memfdCreate } = require('../../dist/src/kernel/native-socket.js');
const { Variant } = require('dbus-next');

const W = 64;
const H = 48;
const STRIDE = W * 4;
const PATH = '/org/qemu/Display1/Listener';
const LISTENER = 'org.qemu.Display1.Listener';
const MAP = 'org.qemu.Display1.Listener.Unix.Map';
const sealed = process.argv[3] === 'sealed';

async function main() {
  const bus = await connectBus(process.argv[2], 5000);
  await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RequestName', signature: 'su', body: ['org.qemu', 4] });
  const memfd = sealed ? memfdCreate('displaysurface', MFD_ALLOW_SEALING) : memfdCreate('displaysurface');
  ftruncateSync(memfd, STRIDE * H);
  if (sealed) memfdAddSeals(memfd, F_SEAL_SHRINK);
  writeSync(memfd, Buffer.alloc(STRIDE * H, 30), 0, STRIDE * H, 0);
  let timer = null;
  let n = 0;
  const start = async (l) => {
    const all = await l.call({ path: PATH, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: [LISTENER] });
    const ifaces = all.body[0]?.Interfaces?.value ?? [];
    let mapped = false;
    if (ifaces.includes(MAP)) {
      mapped = await l.call({ path: PATH, interface: MAP, member: 'ScanoutMap', signature: 'huuuuu', body: [memfd, 0, W, H, STRIDE, 0x20020888] }).then(() => true, () => false);
    }
    process.stdout.write(`${mapped ? 'map' : 'pixels'}\n`);
    timer = setInterval(() => {
      // An 8x8 square walks along the top rows: the damage of each frame.
      const x = (n++ * 8) % W;
      const row = Buffer.alloc(8 * 4, 40 + (n % 200));
      for (let y = 0; y < 8; y++) writeSync(memfd, row, 0, row.length, y * STRIDE + x * 4);
      if (mapped) l.call({ path: PATH, interface: MAP, member: 'UpdateMap', signature: 'iiii', body: [x, 0, 8, 8] }).catch(() => undefined);
      else l.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: PATH, interface: LISTENER, member: 'Scanout', signature: 'uuuuay', body: [W, H, STRIDE, 0x20020888, Buffer.alloc(STRIDE * H, 40 + (n % 200))] });
    }, 20);
  };
  bus.on('message', (m) => {
    if (m.member === 'GetManagedObjects') {
      const console0 = { Label: new Variant('s', 'VGA'), Head: new Variant('u', 0), Type: new Variant('s', 'Graphic'), DeviceAddress: new Variant('s', ''), Width: new Variant('u', W), Height: new Variant('u', H) };
      return bus.reply(m, 'a{oa{sa{sv}}}', [{ '/org/qemu/Display1/Console_0': { 'org.qemu.Display1.Console': console0 } }]);
    }
    if (m.member === 'RegisterListener' && m.fds.length === 1) {
      bus.reply(m);
      const l = new PeerLink(m.fds[0], 'server');
      l.on('close', () => clearInterval(timer));
      l.open().then(() => start(l), () => undefined).catch((e) => process.stderr.write(`fake-qemu-map: ${e.message}\n`));
      return;
    }
    if (m.type === MESSAGE.METHOD_CALL) bus.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `${m.member} is not served here`);
  });
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => d.includes('quit') && process.exit(0));
  process.stdout.write('ready\n');
}

main().catch((e) => {
  process.stderr.write(`fake-qemu-map: ${e.message}\n`);
  process.exit(1);
});
