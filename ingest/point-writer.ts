import type { TenantScope } from '../planner/query.ts';
import type { IngestPoint } from './ingest-point.ts';

/** What a write did: points stored, and those refused because the scope may not write their cluster. */
export interface WriteResult {
  readonly accepted: number;
  /** Points of clusters that are not registered or belong to a tenant outside the scope (indistinguishable). */
  readonly refused: number;
  /** Those clusters, sorted (for the partial_success message: the caller named them itself). */
  readonly refusedClusters: readonly string[];
  /** Points refused apart from those: of new series past their tenant's limit of series (STRATA_OTLP_MAX_SERIES_PER_TENANT). */
  readonly overSeriesLimit?: { readonly points: number; readonly limit: number };
}

/**
 * The write path of telemetry. `write` stores the points idempotently (a
 * repeated point is a no-op) for the clusters `scope` may write, with each
 * row's tenant taken from the cluster registry, never from the request; it
 * re-derives the per-minute raw rows of exactly the touched series and
 * minutes from every point stored (derive-raw-rows.ts is the rule), and
 * resolves only once all of it is committed, in one transaction.
 */
export interface PointWriter {
  /** `caller` (auth/principal.ts callerKey) keys the caller's share of a write queue; a store's writer needs none. */
  write(points: readonly IngestPoint[], scope: TenantScope, caller?: string): Promise<WriteResult>;
}

/** One write of a group: its points and the scope that may write them. */
export interface PointWrite {
  readonly points: readonly IngestPoint[];
  readonly scope: TenantScope;
}

/**
 * A store's writer, which commits several writes in one transaction (group
 * commit): a transaction's fixed cost (its statements, the commit's flush)
 * is paid once for all the writes waiting, so many small requests, as
 * OpenTelemetry exporters send them, go as fast as a few large ones. Each
 * write gets its own result; if the transaction fails, every write in it does.
 */
export interface GroupPointWriter extends PointWriter {
  writeGroup(writes: readonly PointWrite[]): Promise<WriteResult[]>;
}

/**
 * Minutes that received points after a rollup had built their bucket (late
 * data), kept by the write path until the aggregator rebuilds those buckets.
 * `takeLateMinutes` hands over and forgets them; a rebuild that fails puts
 * them back.
 */
export interface LateMinutes {
  takeLateMinutes(): Promise<number[]>;
  putBackLateMinutes(minutes: readonly number[]): Promise<void>;
}
