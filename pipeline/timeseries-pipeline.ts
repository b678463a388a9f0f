import type DataLoader from 'dataloader';
import type { Datasource, LabelColumn } from '../catalog/catalog.ts';
import type { Limits } from '../config/config.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { GRANULARITIES } from '../planner/granularity.ts';
import { intervalText } from '../planner/interval.ts';
import { piecesOf, type Piece } from '../planner/pieces.ts';
import type { PlannerState } from '../planner/plan.ts';
import { tracedPlan } from '../observability/pipeline-trace.ts';
import type { CanonicalQuery, Plan, RuleDecision, TenantScope } from '../planner/query.ts';
import { authorizeResources } from './authorize.ts';
import { mergeRows, type Series } from './merge.ts';
import { encodeCursor, normalize, type TimeseriesArgs } from './normalize.ts';
import { chargeField, chargePoints, type OperationBudget } from './operation-budget.ts';
import type { LoadStats, PieceResult } from './piece-loader.ts';
import type { ResourceDirectory } from './resource-directory.ts';

/** What one operation's timeseries fields share. */
export interface TimeseriesContext {
  readonly scope: TenantScope;
  readonly now: number;
  readonly limits: Limits;
  readonly plannerState: () => PlannerState;
  readonly resources: ResourceDirectory;
  readonly pieces: DataLoader<Piece, PieceResult, string>;
  readonly stats: LoadStats;
  /** The operation's cost so far, across its fields. */
  readonly budget: OperationBudget;
}

export interface FragmentExplanation {
  readonly source: Datasource;
  readonly interval: string;
  readonly level: readonly LabelColumn[] | null;
  readonly reason: string;
  readonly pieces: number;
  readonly cacheHits: number;
}

export interface TimeseriesResult {
  readonly series: Series[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null; readonly totalSeries: number };
  /** Some pieces are last good copies served while the store failed. */
  readonly stale: boolean;
  readonly plan: {
    readonly fragments: FragmentExplanation[];
    readonly decisions: readonly RuleDecision[];
    readonly stats: LoadStats;
  };
}

/**
 * The query path, in order. Everything before `loadMany` is synchronous, on
 * purpose: every timeseries field of an operation reaches the DataLoader in
 * the same tick, so the whole operation costs one cache lookup and at most one
 * store query.
 *   1. normalize: validate arguments, build the canonical query (tenant from the token)
 *   2. authorize: customers name only their own clusters
 *   3. plan: pure routing to rollups and raw, with reasons
 *   4. limits that depend on the route (raw range per granularity, bucket count)
 *   5. pieces: the plan cut into cacheable time chunks
 *   6. budget: the operation's estimated cost so far (chunks, raw minutes, IN values), refused over its limits
 *   7. load: cache lookup, one batched store query for misses, cache fill
 *   8. merge partial states, finalize, order and page; points counted against the operation's limit
 */
export async function runTimeseries(
  args: TimeseriesArgs,
  ctx: TimeseriesContext,
  options: { forceRaw?: boolean } = {},
): Promise<TimeseriesResult> {
  const query = normalize(args, ctx.scope, ctx.now, ctx.limits);
  authorizeResources(query, ctx.resources);
  const routed = tracedPlan(query, ctx.plannerState(), options);
  checkRouteLimits(routed, ctx.limits);
  const pieces = piecesOf(routed);
  chargeField(ctx.budget, query, pieces, ctx.limits, () =>
    ctx.resources.count(query.scope.kind === 'tenant' ? query.scope.tenantId : undefined),
  );
  const loaded = await ctx.pieces.loadMany(pieces);
  const results = loaded.map((r) => {
    if (r instanceof Error) throw r;
    return r;
  });
  const merged = mergeRows(
    query,
    results.map((r) => r.rows),
    ctx.limits.maxPoints,
  );
  chargePoints(ctx.budget, merged.points, ctx.limits);
  return {
    series: merged.series,
    pageInfo: {
      hasNextPage: merged.nextOffset !== undefined,
      endCursor: merged.nextOffset !== undefined ? encodeCursor(query, merged.nextOffset) : null,
      totalSeries: merged.totalSeries,
    },
    stale: results.some((r) => r.stale),
    plan: { fragments: explain(routed, pieces, results), decisions: routed.decisions, stats: ctx.stats },
  };
}

export function checkRouteLimits(routed: Plan, limits: Limits): void {
  const q: CanonicalQuery = routed.query;
  const spec = GRANULARITIES[q.granularity];
  const rawMs = routed.fragments.filter((f) => f.source === 'raw').reduce((n, f) => n + f.interval.end - f.interval.start, 0);
  if (spec.maxRawRangeMs !== undefined && rawMs > spec.maxRawRangeMs) {
    throw new StrataError(
      ErrorCode.RANGE_TOO_LARGE,
      `${q.granularity} allows an interval of at most ${spec.maxRawRangeMs / 3_600_000}h, and ${rawMs / 3_600_000}h were asked. Use a coarser granularity or a shorter interval.`,
      { granularity: q.granularity, maxHours: spec.maxRawRangeMs / 3_600_000 },
    );
  }
  const buckets = spec.ms === undefined ? 1 : Math.ceil((q.interval.end - q.interval.start) / spec.ms);
  if (buckets > limits.maxPoints) {
    throw new StrataError(
      ErrorCode.POINTS_LIMIT_EXCEEDED,
      `${buckets} ${q.granularity} buckets per series exceed the limit of ${limits.maxPoints} points. Use a coarser granularity or a shorter interval.`,
      { points: buckets, limit: limits.maxPoints },
    );
  }
}

function explain(routed: Plan, pieces: readonly Piece[], results: readonly PieceResult[]): FragmentExplanation[] {
  return routed.fragments.map((f) => {
    const inFragment = pieces
      .map((p, i) => ({ p, r: results[i] }))
      .filter(({ p }) => p.source === f.source && p.interval.start >= f.interval.start && p.interval.end <= f.interval.end);
    return {
      source: f.source,
      interval: intervalText(f.interval),
      level: f.level ?? null,
      reason: f.reason,
      pieces: inFragment.length,
      cacheHits: inFragment.filter(({ r }) => r?.cached).length,
    };
  });
}
