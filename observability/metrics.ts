import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics, served at GET /metrics. One registry per
 * process (Prometheus scrapes a process): several apps in one process (tests)
 * add up. Labels hold operational values only (operation names, roles, stores,
 * lanes, rule names), never tenant or cluster ids: those would multiply the
 * series without bound and publish who uses the service to whoever scrapes it.
 */
export const registry = new Registry();

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const requestDuration = new Histogram({
  name: 'strata_request_duration_seconds',
  help: 'GraphQL operations from Apollo receiving the request to the response, by operation name and caller role.',
  labelNames: ['operation', 'role'] as const,
  buckets: SECONDS,
  registers: [registry],
});

export const storeQueryDuration = new Histogram({
  name: 'strata_store_query_duration_seconds',
  help: 'One batched store query (all pieces of a batch), by store and lane; failures included.',
  labelNames: ['store', 'lane'] as const,
  buckets: SECONDS,
  registers: [registry],
});

export const storeQueryFailures = new Counter({
  name: 'strata_store_query_failures_total',
  help: 'Batched store queries that failed (errors, timeouts, cancellations, an open breaker).',
  labelNames: ['store', 'lane'] as const,
  registers: [registry],
});

export const breakersOpen = new Gauge({
  name: 'strata_store_breakers_open',
  help: 'Store circuit breakers open now, by lane and level: "lane" (1 when the whole lane is refused) or "caller" (how many tenants or subjects are refused).',
  labelNames: ['lane', 'level'] as const,
  registers: [registry],
});

const loadCounter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });

/** The piece loader's LoadStats fields, counted where the loader counts them. */
export const LOAD_COUNTERS = {
  cacheHits: loadCounter('strata_cache_hits_total', 'Pieces answered from the result cache.'),
  cacheMisses: loadCounter(
    'strata_cache_misses_total',
    'Pieces not in the result cache (read from the store, or from a shared in-flight query).',
  ),
  cacheUnavailable: loadCounter(
    'strata_cache_unavailable_total',
    'Batch lookups that found the cache unavailable (answered from the store).',
  ),
  staleServed: loadCounter('strata_stale_served_total', 'Pieces served from a last good copy while the store failed.'),
  storeQueries: loadCounter('strata_store_queries_total', 'Batched store queries started.'),
} as const;

export const routingDecisions = new Counter({
  name: 'strata_planner_decisions_total',
  help: "The planner's rule evaluations, by candidate source, rule name and outcome.",
  labelNames: ['source', 'rule', 'outcome'] as const,
  registers: [registry],
});

export const planFragments = new Counter({
  name: 'strata_planner_fragments_total',
  help: 'Plan fragments, by the source that serves them (a rollup of the catalog, or raw).',
  labelNames: ['source'] as const,
  registers: [registry],
});

export const aggregationEvents = new Counter({
  name: 'strata_aggregation_events_total',
  help: 'aggregation.published events handled: applied, rejected (malformed), duplicate (applied again).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const consumerLag = new Gauge({
  name: 'strata_consumer_lag_messages',
  help: 'Messages published to the aggregation topic and not yet committed by this replica (Kafka bus only).',
  labelNames: ['topic', 'partition'] as const,
  registers: [registry],
});

const otlpPoints = new Counter({
  name: 'strata_otlp_points_total',
  help: 'Data points received on POST /v1/metrics: accepted (committed), or refused in partial_success.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const OTLP_POINT_COUNTERS = { accepted: otlpPoints.labels('accepted'), refused: otlpPoints.labels('refused') } as const;

/** Pre-bound children: the hot path increments without building a label key each time. */
export const EVENT_COUNTERS = {
  applied: aggregationEvents.labels('applied'),
  rejected: aggregationEvents.labels('rejected'),
  duplicate: aggregationEvents.labels('duplicate'),
} as const;

let defaultsOn = false;

/** Node process metrics (CPU, memory, event loop lag, GC): once per process, from the first app. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
}

/**
 * GET /metrics: the Prometheus text format. No token, like /healthz: it holds
 * operational figures only (see above), so keep the port off the internet or
 * filter the path at the ingress.
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.statusCode = 405;
    res.setHeader('Allow', 'GET, HEAD');
    return void res.end();
  }
  const text = await registry.metrics();
  res.statusCode = 200;
  res.setHeader('content-type', registry.contentType);
  res.setHeader('cache-control', 'no-store');
  res.end(req.method === 'HEAD' ? undefined : text);
}
