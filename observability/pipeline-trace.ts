import type { Counter } from 'prom-client';
import type { CacheLookup, ResultCache } from '../cache/result-cache.ts';
import type { Piece } from '../planner/pieces.ts';
import { plan, type PlannerState, type PlanOptions } from '../planner/plan.ts';
import type { CanonicalQuery, PartialRow, Plan } from '../planner/query.ts';
import type { StoreRequest } from '../store/metric-store.ts';
import { planFragments, routingDecisions, storeQueryDuration, storeQueryFailures } from './metrics.ts';
import { failSpan, startChildSpan } from './tracing.ts';

/** The DB system of each store, as the OpenTelemetry semantic conventions name it. */
const ATTR_DB_SYSTEM_NAME = 'db.system.name';

/**
 * The planner, observed: a span whose attributes say, per fragment, which
 * source serves which sub-interval and why; and the routing counters (rule
 * decisions and fragments by source).
 */
export function tracedPlan(query: CanonicalQuery, state: PlannerState, options: PlanOptions): Plan {
  const span = startChildSpan('strata.plan', {
    'strata.metric': query.metric.name,
    'strata.granularity': query.granularity,
    'strata.aggregation': query.aggregation,
  });
  try {
    const routed = plan(query, state, options);
    countRouting(routed);
    span?.setAttributes({
      'strata.plan.fragment.source': routed.fragments.map((f) => f.source),
      'strata.plan.fragment.interval': routed.fragments.map(
        (f) => `${new Date(f.interval.start).toISOString()}/${new Date(f.interval.end).toISOString()}`,
      ),
      'strata.plan.fragment.reason': routed.fragments.map((f) => f.reason),
      'strata.plan.rules.failed': routed.decisions.filter((d) => !d.passed).map((d) => `${d.source}:${d.rule}`),
    });
    return routed;
  } catch (error) {
    if (span) failSpan(span, error);
    throw error;
  } finally {
    span?.end();
  }
}

/** Children per (source, rule, outcome), bound once: counting a plan builds no label keys. */
const decisionChildren = new Map<string, Map<string, [Counter.Internal, Counter.Internal]>>();
const fragmentChildren = new Map<string, Counter.Internal>();

function countRouting(routed: Plan): void {
  for (const d of routed.decisions) {
    let byRule = decisionChildren.get(d.source);
    if (!byRule) decisionChildren.set(d.source, (byRule = new Map()));
    let pair = byRule.get(d.rule);
    if (!pair)
      byRule.set(d.rule, (pair = [routingDecisions.labels(d.source, d.rule, 'pass'), routingDecisions.labels(d.source, d.rule, 'fail')]));
    pair[d.passed ? 0 : 1].inc();
  }
  for (const f of routed.fragments) {
    let child = fragmentChildren.get(f.source);
    if (!child) fragmentChildren.set(f.source, (child = planFragments.labels(f.source)));
    child.inc();
  }
}

/** One batch cache lookup, as a span with its hits and misses. */
export async function tracedLookup(cache: ResultCache, pieces: readonly Piece[]): Promise<CacheLookup> {
  const span = startChildSpan('strata.cache.lookup', { 'strata.pieces': pieces.length });
  try {
    const lookup = await cache.lookup(pieces);
    span?.setAttributes({
      'strata.cache.hits': lookup.hits.size,
      'strata.cache.misses': pieces.length - lookup.hits.size,
      'strata.cache.available': lookup.available,
    });
    return lookup;
  } catch (error) {
    if (span) failSpan(span, error);
    throw error;
  } finally {
    span?.end();
  }
}

interface PieceQuerier {
  queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>>;
}

const durationChildren = new Map<string, { time: ReturnType<typeof storeQueryDuration.labels>; failed: Counter.Internal }>();

/** One batched store query: a span (store, lane, pieces) and the latency histogram by store and lane. */
export async function tracedStoreQuery(store: string, querier: PieceQuerier, request: StoreRequest): Promise<Map<string, PartialRow[]>> {
  const key = `${store}\u0000${request.lane}`;
  let children = durationChildren.get(key);
  if (!children)
    durationChildren.set(
      key,
      (children = { time: storeQueryDuration.labels(store, request.lane), failed: storeQueryFailures.labels(store, request.lane) }),
    );
  const span = startChildSpan('strata.store.query', {
    [ATTR_DB_SYSTEM_NAME]: store,
    'strata.store': store,
    'strata.lane': request.lane,
    'strata.pieces': request.pieces.length,
  });
  const started = performance.now();
  try {
    return await querier.queryPieces(request);
  } catch (error) {
    children.failed.inc();
    if (span) failSpan(span, error);
    throw error;
  } finally {
    children.time.observe((performance.now() - started) / 1000);
    span?.end();
  }
}
