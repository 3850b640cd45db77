/* A process that uses the simulated kernel on a --root and is then killed: it sets a mode of its
 * own, shows its fbs and a GVT-g kernel fb, lights a CRTC fbcon never used, prints READY, waits.
 * Plain JS over dist/ so it runs as its own node process. argv: dist dir, root, profile. */
const [dist, root, profile] = process.argv.slice(2);
const { openHost } = require(`${dist}/src/kernel/host.js`);
const { readTopology } = require(`${dist}/src/kernel/topology.js`);
const { encodeModeInfo } = require(`${dist}/src/kernel/blobs.js`);
const { DRM_MODE_ATOMIC, DRM_MODE_FB_MODIFIERS, DRM_FORMAT } = require(`${dist}/src/kernel/constants.js`);

const host = openHost(`sim:${profile}`, { root });
const dev = host.backend.openKms(host.cards()[0]);
const t = readTopology(dev);
const props = [];
const set = (o, name, value) => props.push({ objectId: o.id, propId: o.props[name].id, value: BigInt.asUintN(64, BigInt(value)) });
const fb = (w, h) => {
  const d = dev.createDumb(w, h, 32);
  return dev.addFb2({ width: w, height: h, pixelFormat: DRM_FORMAT.XRGB8888, flags: DRM_MODE_FB_MODIFIERS, handles: [d.handle], pitches: [d.pitch], offsets: [0], modifiers: [0n] });
};
const show = (plane, crtc, id, w, h, x = 0, y = 0) => {
  for (const [k, v] of Object.entries({ FB_ID: id, CRTC_ID: crtc.id, SRC_X: 0, SRC_Y: 0, SRC_W: w * 65536, SRC_H: h * 65536, CRTC_X: x, CRTC_Y: y, CRTC_W: w, CRTC_H: h })) set(plane, k, v);
};
const light = (connName, modeName) => {
  const conn = t.connectors.find((c) => c.name === connName);
  const crtc = t.crtcs.find((c) => c.id === conn.crtcId) ?? t.crtcs.find((c) => !c.active && conn.possibleCrtcs.includes(c.id));
  const mode = conn.modes.find((m) => `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}` === modeName);
  set(crtc, 'MODE_ID', dev.createPropBlob(encodeModeInfo(mode)));
  set(crtc, 'ACTIVE', 1);
  set(conn, 'CRTC_ID', crtc.id);
  const planes = t.planes.filter((p) => p.possibleCrtcs.includes(crtc.id));
  show(planes.find((p) => p.type === 'primary'), crtc, fb(mode.hdisplay, mode.vdisplay), mode.hdisplay, mode.vdisplay);
  return { crtc, planes };
};
const hdmi = light('HDMI-A-1', '2560x1440@60');
light('DP-1', '1920x1200@60');
const overlays = hdmi.planes.filter((p) => p.type === 'overlay');
show(overlays[0], hdmi.crtc, fb(640, 480), 640, 480, 100, 100);
if (host.sim.profile.vfio.directFlip) {
  const uuid = 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9';
  host.ensureMdev(uuid);
  const kfb = host.sim.vfio.directFlipFb(uuid, 'primary');
  const k = host.sim.card.fbs.get(kfb);
  show(overlays[1], hdmi.crtc, kfb, k.width, k.height, 800, 0);
}
dev.atomic(props, DRM_MODE_ATOMIC.ALLOW_MODESET);
// A flip between its own fbs, as every frame is: the kernel keeps no trace worth writing.
const again = [];
const p0 = hdmi.planes.find((p) => p.type === 'primary');
again.push({ objectId: p0.id, propId: p0.props.FB_ID.id, value: BigInt(fb(2560, 1440)) });
dev.atomic(again, 0);
// The monitor on DP-1 is unplugged: that is the kernel's (and the hardware's) to remember.
host.sim.card.hotplug('DP-1', false);
process.stdout.write('READY\n');
setInterval(() => undefined, 1000);
