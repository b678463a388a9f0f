import type { Env } from './env-schema.ts';

/** The validated configuration, in the slices components receive (config.ts builds it). */

export interface Limits {
  readonly maxPoints: number;
  readonly defaultSeriesLimit: number;
  readonly maxSeriesLimit: number;
  readonly maxFilterNodes: number;
  readonly maxFilterDepth: number;
  readonly maxInValues: number;
  readonly maxQueryDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  readonly maxTimeseriesFields: number;
  readonly maxBodyBytes: number;
  readonly queryTimeoutMs: number;
  /** How far past `now` an interval may end (admits the current minute, "today" and Grafana's "now/d"). */
  readonly maxFutureMs: number;
  /** Store chunks (pieces) one timeseries field, and one operation, may cost. */
  readonly maxPiecesPerField: number;
  readonly maxPiecesPerOperation: number;
  /** Points one operation may return across its fields. */
  readonly maxPointsPerOperation: number;
  /** Minutes of raw data, times the clusters they cover, one operation may scan (customers; internal). */
  readonly maxRawMinutesPerOperation: number;
  readonly maxRawMinutesInternal: number;
  /** IN values across all filters of one operation. */
  readonly maxInValuesPerOperation: number;
  /** Nesting of variables (objects and lists), checked before GraphQL coerces them. */
  readonly maxInputDepth: number;
}

export interface Config {
  readonly env: Env['STRATA_ENV'];
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  /** The metric registry the catalog serves (STRATA_METRICS_FILE, absolute; default the bundled catalog/metrics.json). */
  readonly metricsFile: string;
  readonly store: {
    readonly kind: Env['STRATA_STORE'];
    readonly druidUrl: string | undefined;
    readonly druidCoordinatorUrl: string | undefined;
  };
  readonly cache: {
    readonly kind: Env['STRATA_CACHE'];
    readonly maxBytes: number;
    readonly completeTtlMs: number;
    readonly freshTtlMs: number;
    readonly staleTtlMs: number;
    readonly redisUrl: string | undefined;
    readonly redisClusterNodes: readonly string[];
    readonly redisTimeoutMs: number;
  };
  readonly events: {
    readonly kind: Env['STRATA_EVENTS'];
    readonly brokers: readonly string[];
    readonly topic: string;
    readonly replicaId: string;
  };
  readonly jwt: JwtConfig;
  readonly fixedNow: number | undefined;
  readonly aggregateEveryMs: number;
  /** `npm start`'s synthetic telemetry, pushed through the server's own OTLP receiver (demo/demo-feed.ts). */
  readonly demoFeed: { readonly enabled: boolean; readonly everyMs: number };
  readonly limits: Limits;
  readonly edge: EdgeConfig;
  readonly logLevel: Env['STRATA_LOG_LEVEL'];
  /** OpenTelemetry traces: exported over OTLP/HTTP only when an endpoint is set, else not recorded at all. */
  readonly tracing: { readonly otlpEndpoint: string | undefined; readonly sampleRatio: number };
  /** Whole responses replayed for repeated operations (api/http/response-cache.ts); ttlMs 0 = off. */
  readonly responseCache: { readonly ttlMs: number; readonly maxBytes: number };
  /** Parsed and validated GraphQL documents kept for reuse (api/graphql/document-store.ts): bytes of heap, estimated. */
  readonly documentCacheBytes: number;
  /** Relative intervals (`now-1h/now`) resolve against the clock rounded down to this step (0 = to the millisecond). */
  readonly nowStepMs: number;
  /** HTTP worker processes sharing the port (node:cluster); 1 = no cluster. */
  readonly workers: number;
  /** What the embedded store may keep resident (DuckDbStore.limitResources takes it as it is). */
  readonly duckdb: {
    /** DuckDB's memory limit (its default is 80 % of the machine's RAM). */
    readonly memoryBytes: number;
    /** DuckDB's worker threads; undefined keeps its default (one per core). */
    readonly threads: number | undefined;
    /** How many store reads run at once: Node's thread pool size (UV_THREADPOOL_SIZE), which runs DuckDB's queries. */
    readonly readsAtOnce: number;
  };
  /** GET /export (api/export/export-endpoint.ts): how long after a minute closes it is exported; clusters per request. */
  readonly metricsExport: { readonly delayMs: number; readonly maxClusters: number };
  /** Live subscriptions over WebSocket: process-wide caps and each tenant's and token's share. */
  readonly subscriptions: SubscriptionConfig;
  /** POST /v1/metrics (api/otlp/): body limit after decompression, how far ahead and how late a point may be, points the write queue holds. */
  readonly ingest: IngestConfig;
  /** GraphQL operation names /metrics may use as label values; any other is "other". */
  readonly metricsOperations: readonly string[];
}

export interface IngestConfig {
  readonly maxBodyBytes: number;
  readonly maxFutureMs: number;
  /** How late a point may arrive (its time at least now minus this); a billing day turns FINAL only this long after its end. */
  readonly maxLatenessMs: number;
  readonly queuePoints: number;
  /** Series one tenant may have stored: the writer holds every series' head in memory, and one tenant must not take it all. */
  readonly maxSeriesPerTenant: number;
}

export interface SubscriptionConfig {
  readonly maxConnections: number;
  readonly connectionsPerTenant: number;
  readonly connectionsPerToken: number;
  readonly maxSubscriptions: number;
  readonly subscriptionsPerTenant: number;
}

/** Admission at the HTTP edge: quotas per minute (0 turns one off), in-flight cap, drain deadline. */
export interface EdgeConfig {
  readonly tenantPerMinute: number;
  readonly tokenPerMinute: number;
  readonly maxInFlight: number;
  readonly drainTimeoutMs: number;
  /** How long the store circuit breaker stays open before a trial call. */
  readonly breakerResetMs: number;
  /** How long a request body may take to arrive once its headers have. */
  readonly bodyTimeoutMs: number;
  /** Requests in progress at once per tenant (or internal/billing subject) and per token; 0 = unbounded. */
  readonly inFlightPerTenant: number;
  readonly inFlightPerToken: number;
  /** Raw cluster-minutes one store statement may scan; an operation asking more runs several, one after another. */
  readonly rawMinutesPerStoreQuery: number;
  /** Store queries one tenant runs at once, and may have waiting; 0 slots = unbounded. */
  readonly storeSlotsPerTenant: number;
  readonly storeQueuePerTenant: number;
}

interface JwtClaimsConfig {
  readonly issuer: string;
  readonly audience: string;
  /** Leeway on exp and nbf for clock skew; never over 60 s. */
  readonly clockToleranceSeconds: number;
  /** Longest lifetime (exp - iat) a token may declare; iat is required. */
  readonly maxLifetimeSeconds: number;
}

/** Rotating public keys: where they are published, and how they are fetched and cached. */
export interface JwksConfig {
  readonly url: string;
  readonly timeoutMs: number;
  readonly refreshMs: number;
  readonly maxStaleMs: number;
  readonly fetchesPerMinute: number;
}

export type JwtConfig =
  | (JwtClaimsConfig & { readonly kind: 'hmac'; readonly secret: string; readonly isDevSecret: boolean })
  | (JwtClaimsConfig & { readonly kind: 'public-key'; readonly publicKey: string })
  | (JwtClaimsConfig & { readonly kind: 'jwks'; readonly jwks: JwksConfig });
