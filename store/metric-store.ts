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
 * What the query path needs of a store: reads only. Every read takes a tenant
 * scope (or is tenant-free metadata), which becomes a mandatory predicate.
 */
export interface MetricStoreReader {
  readonly name: string;
  /** Answers many pieces in one round trip; rows keyed by piece key. */
  queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>>;
  listResources(scope: TenantScope): Promise<ResourceRow[]>;
  usage(request: UsageRequest): Promise<UsageRow[]>;
  readWatermarks(): Promise<Record<RollupName, number>>;
  /** Extent of the raw data: first minute, and the newest minute + 1 minute (undefined when empty). */
  rawDataRange(): Promise<Interval | undefined>;
}

/** What the aggregator (and, later, ingestion) needs: writes. */
export interface MetricStoreWriter {
  /** Rebuilds a rollup for a closed, aligned interval and records the new watermark. */
  buildRollup(rollup: RollupName, interval: Interval): Promise<{ tenants: string[]; metrics: string[] }>;
}

/** What the process needs: readiness and shutdown. */
export interface StoreLifecycle {
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The OLAP store contract: DuckDB (embedded) and Druid (production) implement
 * it, and one contract suite (test/contracts/metric-store-contract.ts) runs
 * against every implementation.
 */
export type MetricStore = MetricStoreReader & MetricStoreWriter & StoreLifecycle;
