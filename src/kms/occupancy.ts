/**
 * Who holds which KMS objects. Two domains may share a CRTC on different planes; the CRTC's mode
 * then belongs to the first holder, and nobody else may change it.
 */
export interface Holding {
  domain: string;
  planes: number[];
  crtcs: number[];
  connectors: number[];
  /** CRTCs whose mode this domain set (and restores). */
  modeOwner: number[];
}

export class Occupancy {
  private readonly byDomain = new Map<string, Holding>();

  static fromJSON(list: Holding[]): Occupancy {
    const o = new Occupancy();
    for (const h of list) o.byDomain.set(h.domain, { ...h });
    return o;
  }

  toJSON(): Holding[] {
    return [...this.byDomain.values()];
  }

  hold(h: Holding): void {
    for (const id of h.planes) {
      const other = this.planeHolder(id);
      if (other && other !== h.domain) throw new Error(`plane ${id} is already held by domain ${other}`);
    }
    this.byDomain.set(h.domain, { ...h });
  }

  release(domain: string): Holding | undefined {
    const h = this.byDomain.get(domain);
    this.byDomain.delete(domain);
    return h;
  }

  get(domain: string): Holding | undefined {
    return this.byDomain.get(domain);
  }

  domains(): string[] {
    return [...this.byDomain.keys()];
  }

  planeHolder(id: number): string | undefined {
    for (const h of this.byDomain.values()) if (h.planes.includes(id)) return h.domain;
    return undefined;
  }

  crtcModeOwner(id: number): string | undefined {
    for (const h of this.byDomain.values()) if (h.modeOwner.includes(id)) return h.domain;
    return undefined;
  }

  crtcHolders(id: number): string[] {
    return [...this.byDomain.values()].filter((h) => h.crtcs.includes(id)).map((h) => h.domain);
  }

  connectorHolder(id: number): string | undefined {
    for (const h of this.byDomain.values()) if (h.connectors.includes(id)) return h.domain;
    return undefined;
  }
}
