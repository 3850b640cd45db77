'use strict';
// Plays a QEMU with a D-Bus display on a VM bus: owns org.qemu, exports one console, takes the
// listener fd RegisterListener brings and streams small pixel frames on it. Lines on stdin:
// "hostile" sends one malformed message there (a Listener call of the wrong signature);
// "freeze N" stops streaming after one last frame of grey level N; "quit" ends.
//   node fake-qemu.js <bus address>
const { connectBus } = require('../../dist/src/sources/display-bus.js');
const { MESSAGE, NO_REPLY_EXPECTED, PeerLink } = require('../../dist/src/sources/dbus-peer.js');
const { Variant } = require('dbus-next');

const W = 64;
const H = 48;
const LISTENER = 'org.qemu.Display1.Listener';

async function main() {
  const bus = await connectBus(process.argv[2], 5000);
  await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RequestName', signature: 'su', body: ['org.qemu', 4] });
  let link = null;
  let shade = 0;
  const frame = (level) => {
    if (!link) return;
    shade = (shade + 1) % 200;
    link.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'Scanout', signature: 'uuuuay', body: [W, H, W * 4, 0x20020888, Buffer.alloc(W * H * 4, level ?? 20 + shade)] });
  };
  bus.on('message', (m) => {
    if (m.member === 'GetManagedObjects') {
      const console0 = { Label: new Variant('s', 'VGA'), Head: new Variant('u', 0), Type: new Variant('s', 'Graphic'), DeviceAddress: new Variant('s', ''), Width: new Variant('u', W), Height: new Variant('u', H) };
      return bus.reply(m, 'a{oa{sa{sv}}}', [{ '/org/qemu/Display1/Console_0': { 'org.qemu.Display1.Console': console0 } }]);
    }
    if (m.member === 'RegisterListener' && m.fds.length === 1) {
      bus.reply(m);
      const l = new PeerLink(m.fds[0], 'server');
      l.on('close', () => (link = null));
      l.on('message', (c) => {
        if (c.member === 'GetAll') l.reply(c, 'a{sv}', [{}]);
      });
      // Frames only once the handshake is done, as QEMU does.
      l.open().then(() => (link = l), () => undefined);
      return;
    }
    if (m.type === MESSAGE.METHOD_CALL) bus.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `${m.member} is not served here`);
  });
  const timer = setInterval(() => frame(), 20);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    if (d.includes('hostile') && link) link.send({ type: MESSAGE.METHOD_CALL, flags: 0, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'UpdateDMABUF', signature: 'us', body: [1, 'not a rectangle'] });
    const freeze = /freeze (\d+)/.exec(d);
    if (freeze) {
      clearInterval(timer);
      frame(Number(freeze[1]));
    }
    if (d.includes('quit')) process.exit(0);
  });
  process.stdout.write('ready\n');
}

main().catch((e) => {
  process.stderr.write(`fake-qemu: ${e.message}\n`);
  process.exit(1);
});
