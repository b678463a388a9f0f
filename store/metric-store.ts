import type { RollupName } from '../catalog/catalog.ts';
import type { Interval, PartialRow, TenantScope } from '../planner/query.ts';
import type { Piece } from '../planner/pieces.ts';

/** What one store call should compute: pieces, each answered with its own rows. */
export interface StoreRequest {
  readonly pieces: readonly Piece[];
  readonly signal?: AbortSignal;
  /** Caller class, for store-side priority (customer, internal, billing). */
  readonly lane: 'customer' | 'internal' | 'billing';
}

export interface ResourceRow {
  readonly tenantId: string;
  readonly resourceId: string;
}

/** Per tenant, cluster and UTC day: exact integer sums (as bigint). */
export interface UsageRow {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly day: number;
  readonly ingressBytes: bigint;
  readonly egressBytes: bigint;
  readonly storageByteMinutes: bigint;
  readonly partitionMinutes: bigint;
}

export interface UsageRequest {
  readonly scope: TenantScope;
  readonly interval: Interval;
  /** Days before this instant are read from rollup_1d, the rest from raw. */
  readonly rollupUntil: number;
  readonly signal?: AbortSignal;
}

/**
 * The OLAP store contract: DuckDB (embedded) and Druid (production) implement
 * it, and one conformance suite runs against both. Every read takes a tenant
 * scope, which becomes a mandatory predicate.
 */
export interface MetricStore {
  readonly name: string;
  /** Answers many pieces in one round trip; rows keyed by piece key. */
  queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>>;
  listResources(scope: TenantScope): Promise<ResourceRow[]>;
  usage(request: UsageRequest): Promise<UsageRow[]>;
  readWatermarks(): Promise<Record<RollupName, number>>;
  /** Extent of the raw data: first minute, and the newest minute + 1 minute (undefined when empty). */
  rawDataRange(): Promise<Interval | undefined>;
  /** Rebuilds a rollup for a closed, aligned interval and records the new watermark. */
  buildRollup(rollup: RollupName, interval: Interval): Promise<{ tenants: string[]; metrics: string[] }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
