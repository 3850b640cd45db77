import { Variant } from 'dbus-next';
import { connectBus } from '../../src/sources/display-bus';
import { MESSAGE, NO_REPLY_EXPECTED, PeerLink } from '../../src/sources/dbus-peer';
import type { PeerMessage } from '../../src/sources/dbus-peer';
import { PIXMAN } from '../../src/sources/pixel-scanout';

const LISTENER = 'org.qemu.Display1.Listener';

/**
 * QEMU's D-Bus display as the daemon's bus helper meets it on a VM's private bus: it owns
 * org.qemu, exports console 0 through the ObjectManager, takes the listener fd RegisterListener
 * brings and serves that peer-to-peer link as the server. Frames are sent only when the test
 * says, so it knows exactly which frame was the last (a real QEMU streams on its own).
 */
export class FakeQemu {
  private link: PeerLink | null = null;
  /** Listener links opened so far (a restarted daemon registers again). */
  private links = 0;
  private readonly waiters: { n: number; res: () => void }[] = [];

  private constructor(
    private readonly bus: PeerLink,
    readonly w: number,
    readonly h: number,
  ) {
    bus.on('message', (m: PeerMessage) => this.onBus(m));
  }

  static async start(address: string, w: number, h: number): Promise<FakeQemu> {
    const bus = await connectBus(address, 5000);
    const q = new FakeQemu(bus, w, h);
    await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RequestName', signature: 'su', body: ['org.qemu', 4] }, 5000);
    return q;
  }

  private onBus(m: PeerMessage): void {
    if (m.member === 'GetManagedObjects') {
      const c = { Label: new Variant('s', 'VGA'), Head: new Variant('u', 0), Type: new Variant('s', 'Graphic'), DeviceAddress: new Variant('s', ''), Width: new Variant('u', this.w), Height: new Variant('u', this.h) };
      this.bus.reply(m, 'a{oa{sa{sv}}}', [{ '/org/qemu/Display1/Console_0': { 'org.qemu.Display1.Console': c } }]);
      return;
    }
    if (m.member === 'RegisterListener' && m.fds?.length === 1) {
      this.bus.reply(m);
      const l = new PeerLink(m.fds[0], 'server');
      l.on('message', (c: PeerMessage) => {
        if (c.member === 'GetAll') l.reply(c, 'a{sv}', [{}]);
      });
      // Frames only once the handshake is done, as QEMU does.
      l.open().then(() => {
        this.link = l;
        this.links++;
        for (const w of this.waiters.filter((x) => x.n <= this.links)) w.res();
      }, () => undefined);
      return;
    }
    if (m.type === MESSAGE.METHOD_CALL) this.bus.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `${m.member} is not served here`);
  }

  /** Resolves once the daemon's `n`th listener link is up (the first by default). */
  attached(n = 1): Promise<void> {
    return n <= this.links ? Promise.resolve() : new Promise((res) => this.waiters.push({ n, res }));
  }

  /** One whole picture of one colour, as QEMU's Scanout (a no-reply call) carries it. */
  scanout([r, g, b]: number[]): void {
    const data = Buffer.alloc(this.w * this.h * 4);
    for (let i = 0; i < data.length; i += 4) data.set([b, g, r, 0], i);
    this.link!.send({ type: MESSAGE.METHOD_CALL, flags: NO_REPLY_EXPECTED, path: '/org/qemu/Display1/Listener', interface: LISTENER, member: 'Scanout', signature: 'uuuuay', body: [this.w, this.h, this.w * 4, PIXMAN.x8r8g8b8, data] });
  }

  close(): void {
    this.link?.close();
    this.bus.close();
  }
}
