import type { MetricStoreReader, ResourceRow } from '../store/metric-store.ts';

/**
 * Which tenant owns which cluster, held in memory and refreshed in the
 * background, so that authorization is synchronous: every panel of an
 * operation reaches the DataLoader in the same tick and shares one batch.
 */
export class ResourceDirectory {
  private owners = new Map<string, string>();
  private rows: ResourceRow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: MetricStoreReader) {}

  async start(refreshMs: number): Promise<void> {
    await this.refresh();
    if (refreshMs > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), refreshMs);
      this.timer.unref();
    }
  }

  async refresh(): Promise<void> {
    const rows = await this.store.listResources({ kind: 'all' });
    this.rows = rows;
    this.owners = new Map(rows.map((r) => [r.resourceId, r.tenantId]));
  }

  ownerOf(resourceId: string): string | undefined {
    return this.owners.get(resourceId);
  }

  /** Clusters of one tenant, or of all (without copying the list). */
  count(tenantId: string | undefined): number {
    return tenantId === undefined ? this.rows.length : this.rows.reduce((n, r) => n + (r.tenantId === tenantId ? 1 : 0), 0);
  }

  list(tenantId: string | undefined): ResourceRow[] {
    return tenantId === undefined ? [...this.rows] : this.rows.filter((r) => r.tenantId === tenantId);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
