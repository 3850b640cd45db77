/**
 * Every error code the CLI, the hook and the daemon can print, in one list: the `code` of the JSON
 * errors (`{ok: false, error: {code, message}}`), of the hook's and the daemon's log lines, and the
 * D-Bus error names directflipd answers with. Programs decide on these, never on message text;
 * test/errors/catalog.test.ts checks that the list is complete and that every message names the
 * thing, the cause and the next step.
 */

export type Printer = 'cli' | 'hook' | 'daemon';

export interface ErrorCodeEntry {
  code: string;
  /** Who prints it. */
  by: Printer[];
  /** What goes wrong, for the docs. */
  when: string;
  /**
   * Set where the message is another one's, passed on: the code names how it came, the text is
   * the one already checked under its own code.
   */
  passesOn?: string;
}

const DBUS = 'io.github.directflip1.Error.';

export const ERROR_CODES: readonly ErrorCodeEntry[] = [
  // The domain XML and its metadata (src/config): validate, config, plan, doctor, the hook, Prepare.
  { code: 'EDF_TOO_LARGE', by: ['cli', 'hook'], when: 'the domain XML is larger than the 4 MiB libvirt would hand a hook' },
  { code: 'EDF_DOCTYPE', by: ['cli', 'hook'], when: 'the XML has a <!DOCTYPE> (libvirt writes none; no entity is ever expanded)' },
  { code: 'EDF_XML', by: ['cli', 'hook'], when: 'the input is not well-formed XML 1.0' },
  { code: 'EDF_DOMAIN', by: ['cli', 'hook'], when: 'the document is not a libvirt domain, or a part directflip reads (name, uuid, hostdev) is malformed' },
  { code: 'EDF_NAMESPACE', by: ['cli', 'hook'], when: 'an element or attribute of an unknown namespace inside <directflip>' },
  { code: 'EDF_DUPLICATE_ELEMENT', by: ['cli', 'hook'], when: 'more than one <directflip> element in <metadata>' },
  { code: 'EDF_UNKNOWN_ELEMENT', by: ['cli', 'hook'], when: 'an element the schema does not have' },
  { code: 'EDF_UNKNOWN_ATTRIBUTE', by: ['cli', 'hook'], when: 'an attribute the schema does not have' },
  { code: 'EDF_MISSING_ATTRIBUTE', by: ['cli', 'hook'], when: 'a required attribute is missing' },
  { code: 'EDF_BAD_VALUE', by: ['cli', 'hook'], when: 'an attribute value outside what is allowed' },
  { code: 'EDF_TEXT', by: ['cli', 'hook'], when: 'text inside an element that takes none' },
  { code: 'EDF_EMPTY', by: ['cli', 'hook'], when: 'an element that needs children has none' },
  { code: 'EDF_PLANE_SOURCE', by: ['cli', 'hook'], when: 'a plane names both or neither of @mdev and @console, or a source its kind cannot use' },
  { code: 'EDF_MDEV_NOT_IN_DOMAIN', by: ['cli', 'hook'], when: 'a plane names an mdev the domain has no <hostdev> for' },
  { code: 'EDF_DUPLICATE_CONNECTOR', by: ['cli', 'hook'], when: 'one connector in two outputs' },
  { code: 'EDF_DUPLICATE_PLANE', by: ['cli', 'hook'], when: 'one guest plane, or one host plane id, twice in an output' },
  { code: 'EDF_HOST_CONFIG', by: ['cli', 'hook', 'daemon'], when: 'a file in /etc/directflip/domains.d is unreadable, unsafe, not a <directflip> element, or a second one for the domain' },
  { code: 'EDF_NOT_CONFIGURED', by: ['cli'], when: 'plan was given a domain with no directflip configuration anywhere' },
  { code: 'EDF_HAS_METADATA', by: ['cli'], when: 'config --domain: the domain already has a <directflip> element' },
  { code: 'EDF_NOT_DOMAIN', by: ['cli'], when: 'config --domain: the file is not a domain XML' },
  // Hosts, profiles and the command line.
  { code: 'EUSAGE', by: ['cli'], when: 'an option value that cannot be right (exit 2)' },
  { code: 'EDF_HOST', by: ['cli', 'daemon'], when: '--host names no host, or a simulated host cannot use its --root' },
  { code: 'EDF_PROFILE', by: ['cli', 'daemon'], when: 'a simulated host profile is missing or not a valid profile' },
  { code: 'EDF_NO_ADDON', by: ['cli', 'daemon'], when: 'the native addon is not built' },
  { code: 'EDF_MANIFEST', by: ['cli'], when: "uninstall: the install manifest is damaged" },
  { code: 'EDF_DOCTOR_INPUT', by: ['cli'], when: 'doctor cannot read a domain XML it was given (exit 2)' },
  { code: 'ENOTRUNNING', by: ['cli', 'hook'], when: 'directflipd is not running on the bus' },
  // Planning and sources: plan, and Prepare/Activate in the daemon.
  { code: 'EDF_PLAN_REFUSED', by: ['cli', 'daemon'], when: 'no assignment of host planes fits the request (the reasons list what each plane refused)' },
  { code: 'EDF_NO_SOURCE', by: ['cli', 'daemon'], when: 'no plane source can read this guest plane (neither gvt-fb nor a D-Bus display)' },
  { code: 'EDF_SOURCE_UNAVAILABLE', by: ['cli', 'daemon'], when: 'the source asked for cannot work on this host (no mdev, no direct-flip ABI, vfio refused)' },
  // The daemon's own state and its links to QEMU (its log lines and status' stream details).
  { code: 'EDF_STATE_UNTRUSTED', by: ['daemon'], when: 'the state directory is not a directory owned by root and writable by it alone' },
  { code: 'EDF_LOCKED', by: ['daemon'], when: 'another directflipd already runs on this state directory' },
  { code: 'EDF_JOURNAL_SCHEMA', by: ['daemon'], when: 'a journal record does not match its schema (moved to domains/damaged/)' },
  { code: 'EDF_PEER_CLOSED', by: ['daemon'], when: "QEMU closed the display link" },
  { code: 'EDF_PEER_PROTOCOL', by: ['daemon'], when: 'QEMU sent a message that breaks the D-Bus wire protocol or the listener signatures' },
  { code: 'EDF_PEER_HANDLER', by: ['daemon'], when: 'handling a message QEMU sent failed' },
  { code: 'EDF_BAD_DMABUF_LAYOUT', by: ['daemon'], when: 'a ScanoutDMABUF2 buffer layout that cannot be a framebuffer' },
  // errno names, where the meaning is the errno's, given by directflip with its own message.
  { code: 'ENODEV', by: ['cli', 'daemon'], when: 'no DRM device under /dev/dri on the native host' },
  { code: 'EISDIR', by: ['cli'], when: 'a command was given a directory where it reads a file' },
  { code: 'ENODATA', by: ['cli'], when: 'a command was given a FIFO (named pipe) that ended before anyone wrote to it' },
  { code: 'ENOENT', by: ['cli'], when: 'uninstall with nothing installed under --prefix, or an mdev with no sysfs entry' },
  { code: 'EBUSY', by: ['cli', 'daemon'], when: 'a simulated kernel on --root belongs to a process that still runs' },
  { code: 'ECONNREFUSED', by: ['cli', 'hook', 'daemon'], when: 'no D-Bus daemon answers at the address' },
  { code: 'ENOTCONN', by: ['daemon'], when: "directflipd's bus connection is down while it reconnects" },
  { code: 'ETIMEDOUT', by: ['cli', 'hook', 'daemon'], when: 'a D-Bus call (to directflipd, QEMU or the bus) got no answer in time' },
  { code: 'EINVAL', by: ['daemon'], when: "a simulated host's intel_vgpu/plane_id_index was written a value the kernel refuses" },
  { code: 'EIO', by: ['cli'], when: 'reading a file failed with no errno of its own', passesOn: 'the message of a file that cannot be read (`cannot read FILE (CODE): …`), checked under EISDIR, with EIO as its code' },
  { code: 'EDBUS', by: ['cli', 'hook'], when: 'directflipd answered with a D-Bus error', passesOn: "the D-Bus error's own text: directflipd's refusals, each checked under its io.github.directflip1.Error name" },
  { code: 'EDAEMON', by: ['cli'], when: 'screenshot: the call to directflipd failed without a D-Bus error name or errno', passesOn: "the failure's own text, after `directflipd: `" },
  // D-Bus errors directflipd answers with (the hook and status print them).
  { code: `${DBUS}InvalidConfig`, by: ['daemon', 'hook'], when: 'the domain configuration is invalid (libvirt aborts the start)' },
  { code: 'org.freedesktop.DBus.Error.InvalidArgs', by: ['daemon', 'hook'], when: 'a call with the wrong arguments, or argv naming another domain than the XML' },
  { code: `${DBUS}Refused`, by: ['daemon', 'hook'], when: 'the domain cannot be shown now (DRM master held, no plane fits, a restore pending)' },
  { code: `${DBUS}CommitFailed`, by: ['daemon', 'hook'], when: 'the kernel refused the commit that would show the guest' },
  { code: `${DBUS}NotPrepared`, by: ['daemon', 'hook'], when: 'started without a prepare' },
  { code: `${DBUS}Device`, by: ['daemon'], when: 'the DRM card cannot be driven, or the bus name is taken' },
  { code: `${DBUS}AccessDenied`, by: ['daemon', 'hook'], when: 'a caller that is not root' },
  { code: `${DBUS}Journal`, by: ['daemon', 'hook'], when: 'the journal record cannot be written before the commit that needs it' },
  { code: `${DBUS}ShuttingDown`, by: ['daemon', 'hook'], when: 'directflipd is stopping' },
];

/** The D-Bus error name of a DaemonError kind, as daemon/errors.ts builds it. */
export function dbusCode(kind: string): string {
  return kind === 'InvalidArgs' ? 'org.freedesktop.DBus.Error.InvalidArgs' : `${DBUS}${kind}`;
}
