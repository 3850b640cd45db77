import type { ModeSpec, PlaneTarget } from '../config';
import type { ModeInfo } from '../kernel/types';

/** What one guest plane is, as far as the host knows before it is shown. */
export interface GuestPlane {
  format: number;
  modifier: bigint;
  width: number;
  height: number;
  /** A framebuffer that holds it (a kernel fb id from gvt-fb, or a stand-in for TEST_ONLY). */
  fbId: number;
  /** True when format and size are a guess (the source can only tell once the guest runs). */
  assumed: boolean;
}

export interface PlaneRequest {
  /** `directflip/output[1]/plane[2]`: names the request in every refusal. */
  key: string;
  from: 'primary' | 'cursor';
  to: PlaneTarget;
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  zpos: number | null;
  guest: GuestPlane;
}

export interface OutputRequest {
  key: string;
  connector: string;
  mode: ModeSpec;
  planes: PlaneRequest[];
}

export interface DomainRequest {
  domain: string;
  outputs: OutputRequest[];
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlaneAssignment {
  key: string;
  from: 'primary' | 'cursor';
  planeId: number;
  planeType: 'primary' | 'overlay' | 'cursor';
  fbId: number;
  src: Rect;
  dst: Rect;
  /** The zpos to set, when the plane's zpos is mutable; the plane's own otherwise. */
  zpos: number | null;
  setZpos: boolean;
}

export interface OutputAssignment {
  key: string;
  connectorId: number;
  connector: string;
  crtcId: number;
  crtcIndex: number;
  mode: ModeInfo;
  /** Mode, ACTIVE or routing change: needs ALLOW_MODESET. */
  modeset: boolean;
  planes: PlaneAssignment[];
}

export interface Plan {
  domain: string;
  outputs: OutputAssignment[];
  testOnlyCommits: number;
  /** Wall time of the whole planning, TEST_ONLY commits included. */
  elapsedMs: number;
  /** The search's own time, without the kernel's: what the budget bounds. */
  searchMs: number;
  /** False when no TEST_ONLY could be run (no DRM master): the plan is unverified. */
  verified: boolean;
}

export class PlanRefused extends Error {
  readonly code = 'EDF_PLAN_REFUSED';
  constructor(
    readonly request: string,
    readonly reasons: string[],
    readonly testOnlyCommits = 0,
  ) {
    super(`${request}: no host plane fits: ${reasons.join('; ')}; change the output's @connector or @mode, or the planes' @to or geometry, to what \`directflip probe\` lists`);
    this.name = 'PlanRefused';
  }
}
