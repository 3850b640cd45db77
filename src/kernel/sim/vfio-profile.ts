/** The VFIO half of a simulated host profile (examples/hosts/*.json, key `vfio`). */

export interface MdevTypeProfile {
  name: string;
  description: string;
  availableInstances: number;
  /** The guest's display size for synthetic planes. */
  resolution: [number, number];
}

export interface GuestPlaneProfile {
  /** fourcc name of what the guest scans out. */
  format: string;
  modifier: string;
}

export interface VfioProfile {
  /** gvt: Intel GVT-g (opening needs the VM's KVM: ESRCH); mbochs: the kernel sample; none. */
  kind: 'gvt' | 'mbochs' | 'none';
  /** The mdev parent: a PCI device (`0000:00:02.0`) or a virtual one (`mbochs`). */
  parent: string;
  /** sysfs path of the parent under /sys/devices, e.g. `pci0000:00/0000:00:02.0`. */
  parentSysfs: string;
  /**
   * How the device offers the guest's planes: `dmabuf` (GVT-g, mbochs; the default) or `region`
   * (like the mdpy sample: the plane lives in device memory, read through a region).
   */
  planeType?: 'dmabuf' | 'region';
  /** Intel's out-of-tree local-display direct flip: PROBE|DRM succeeds with kernel fb ids. */
  directFlip: boolean;
  types: MdevTypeProfile[];
  defaultType: string;
  /** Like `mdevctl start`: create on first reference the mdevs a domain names. Default true. */
  autoCreateMdevs?: boolean;
  mdevs: { uuid: string; type: string }[];
  primary: GuestPlaneProfile;
  /** null: the guest has no cursor plane (mbochs). */
  cursor: GuestPlaneProfile | null;
  /** First IOMMU group number handed to mdevs. */
  firstIommuGroup: number;
}
