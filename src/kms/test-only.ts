import { encodeModeInfo } from '../kernel/blobs';
import { DRM_MODE_ATOMIC } from '../kernel/constants';
import { isKernelError } from '../kernel/errors';
import type { KernelError } from '../kernel/errors';
import type { Topology } from '../kernel/topology';
import type { KmsDevice } from '../kernel/types';
import { modeLabel } from './mode';
import { assignmentProps } from './props';
import type { OutputAssignment } from './types';

/**
 * The planner's judge over a real KmsDevice: an atomic TEST_ONLY of the partial assignment. Mode
 * blobs are made once per mode and destroyed by `dispose()`; TEST_ONLY itself changes nothing.
 */
export class TestOnlyJudge {
  private readonly blobs = new Map<string, number>();

  /**
   * `reserved`: what other domains hold but have not committed yet (prepared, not started). It is
   * judged together with the new assignment, so a reservation made now still fits when they all
   * go on screen (shared resources such as i915's plane scalers).
   */
  constructor(
    private readonly dev: KmsDevice,
    private readonly t: Topology,
    private readonly reserved: OutputAssignment[] = [],
  ) {}

  readonly judge = (outputs: OutputAssignment[]): KernelError | null => {
    const all = [...this.reserved, ...outputs];
    const props = assignmentProps(this.t, all, (o) => this.blob(o));
    const modeset = all.some((o) => o.modeset);
    try {
      this.dev.atomic(props, DRM_MODE_ATOMIC.TEST_ONLY | (modeset ? DRM_MODE_ATOMIC.ALLOW_MODESET : 0));
      return null;
    } catch (e) {
      if (isKernelError(e)) return e;
      throw e;
    }
  };

  private blob(o: OutputAssignment): number {
    const key = `${modeLabel(o.mode)}/${o.mode.clock}/${o.mode.htotal}/${o.mode.vtotal}`;
    let id = this.blobs.get(key);
    if (id === undefined) {
      id = this.dev.createPropBlob(encodeModeInfo(o.mode));
      this.blobs.set(key, id);
    }
    return id;
  }

  dispose(): void {
    for (const id of this.blobs.values()) this.dev.destroyPropBlob(id);
    this.blobs.clear();
  }
}
