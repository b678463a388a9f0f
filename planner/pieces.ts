import { createHash } from 'node:crypto';
import type { Datasource, GroupKey, LabelColumn } from '../catalog/catalog.ts';
import { chunkMs, storeBucketMs } from './granularity.ts';
import { alignDown } from './interval.ts';
import { scopeId, type Filter, type Interval, type Plan, type TenantScope } from './query.ts';

/**
 * A piece is the unit of caching and of store work: one plan fragment clipped
 * to one time chunk. Its shape omits the aggregation, order and page, because
 * a store returns every partial state (sum, min, max, minutes, samples) and
 * queries differing only in those reuse the same cached pieces.
 */
export interface Piece {
  readonly scope: TenantScope;
  readonly metric: string;
  readonly source: Datasource;
  readonly level: readonly LabelColumn[] | undefined;
  readonly filter: Filter | undefined;
  readonly groupBy: readonly GroupKey[];
  readonly bucketMs: number;
  /** For rollup pieces: the rollup's own bucket. */
  readonly rollupBucketMs?: number | undefined;
  readonly chunkMs: number;
  readonly interval: Interval;
  /** Tenant-first, versioned, hashed canonical key (without generations). */
  readonly key: string;
  /** Same as key but without the interval: pieces with equal shape can share one store query. */
  readonly shape: string;
}

export const CACHE_FORMAT_VERSION = 'v1';

export function piecesOf(plan: Plan): Piece[] {
  const q = plan.query;
  const bucketMs = storeBucketMs(q.granularity);
  const chunk = chunkMs(q.granularity);
  const pieces: Piece[] = [];
  for (const fragment of plan.fragments) {
    const shapeParts = {
      metric: q.metric.name,
      source: fragment.source,
      level: fragment.level ?? null,
      filter: q.filter ?? null,
      groupBy: q.groupBy,
      bucketMs,
    };
    // The braces are a Redis Cluster hash tag: one tenant's keys share a slot.
    const shape = `{${scopeId(q.scope)}}:${hash(shapeParts)}`;
    for (let start = fragment.interval.start; start < fragment.interval.end; ) {
      const end = Math.min(alignDown(start, chunk) + chunk, fragment.interval.end);
      const interval = { start, end };
      pieces.push({
        scope: q.scope,
        metric: q.metric.name,
        source: fragment.source,
        level: fragment.level,
        filter: q.filter,
        groupBy: q.groupBy,
        bucketMs,
        rollupBucketMs: fragment.rollupBucketMs,
        chunkMs: chunk,
        interval,
        shape,
        key: `strata:${CACHE_FORMAT_VERSION}:${shape}:${start}-${end}`,
      });
      start = end;
    }
  }
  return pieces;
}

export function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);
}
