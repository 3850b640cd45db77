import type { ConsoleInfo } from '../../src/sources/display-bus';
import { pickConsole, unixPath } from '../../src/sources/display-bus';

const con = (index: number, deviceAddress: string, label = `dev${index}`, type = 'Graphic'): ConsoleInfo => ({ index, label, head: 0, type, deviceAddress, width: 640, height: 480 });
// What QEMU 7.2 reported for -vga std plus -device virtio-vga (measured), and a device behind a bridge.
const consoles = [con(0, 'pci/0000/02.0', 'VGA'), con(1, 'pci/0000/03.0', 'virtio-vga'), con(2, 'pci/0000/1c.0/00.0', 'i915-GVTg')];

test('console= wins, and a missing one lists what there is', () => {
  expect(pickConsole(consoles, { console: 1, pci: '0000:00:02.0' })).toEqual({ console: consoles[1], why: 'console 1 as configured' });
  expect(() => pickConsole(consoles, { console: 7, pci: null })).toThrow('the display has no console 7; it has 0 (VGA at pci/0000/02.0), 1 (virtio-vga at pci/0000/03.0), 2 (i915-GVTg at pci/0000/1c.0/00.0)');
});

test("the mdev's guest PCI address finds its console: on the root bus exactly, behind a bridge by slot and function", () => {
  expect(pickConsole(consoles, { console: null, pci: '0000:00:03.0' }).console.index).toBe(1);
  expect(pickConsole(consoles, { console: null, pci: '0000:01:00.0' }).console.index).toBe(2);
  // A root-bus address must be on bus 0: 0000:05:02.0 is not QEMU's pci/0000/02.0.
  expect(() => pickConsole(consoles.slice(0, 2), { console: null, pci: '0000:05:02.0' })).toThrow(/no console belongs to the mdev at guest PCI address 0000:05:02.0; consoles: .*\. Name one with console="N"/);
});

test('two consoles behind bridges at the same slot are ambiguous: the error asks for console=', () => {
  const twins = [con(0, 'pci/0000/1c.0/00.0'), con(1, 'pci/0000/1d.0/00.0')];
  expect(() => pickConsole(twins, { console: null, pci: '0000:02:00.0' })).toThrow(/several consoles may belong to the mdev at guest PCI address 0000:02:00.0: .*Name one with console="N"/);
});

test('with neither, the first graphic console; bus addresses other than unix:path are refused by name', () => {
  expect(pickConsole([con(5, '', 'serial', 'Text'), ...consoles], { console: null, pci: null })).toEqual({ console: consoles[0], why: 'console 0, the first graphic console' });
  expect(() => unixPath('tcp:host=localhost,port=1')).toThrow('unsupported D-Bus address tcp:host=localhost,port=1: only unix:path=… is');
  expect(unixPath('unix:path=/run/libvirt/qemu/dbus/1-vm-dbus.sock,guid=abc')).toBe('/run/libvirt/qemu/dbus/1-vm-dbus.sock');
});
