/** A guest with one primary plane from one mdev on `connector` in `mode`, shown through QEMU's D-Bus display. */
const NS = 'https://directflip.github.io/xmlns/domain/1';

export function guestXml(name: string, uuid: string, connector: string, mode: string, mdev: string, extra = ''): string {
  return `<domain><name>${name}</name><uuid>${uuid}</uuid><metadata><directflip xmlns="${NS}"><output connector="${connector}" mode="${mode}">
    <plane from="primary" mdev="${mdev}" to="primary"${extra}/></output></directflip></metadata>
    <devices><graphics type='dbus'/><hostdev mode='subsystem' type='mdev' display='on'><source><address uuid='${mdev}'/></source></hostdev></devices></domain>`;
}
