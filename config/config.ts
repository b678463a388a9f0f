import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * The only module that reads the environment. Everything is validated here,
 * before anything connects, and a bad value stops the process with a message
 * naming the variable and the fix.
 */

export const DEV_JWT_SECRET = 'strata-dev-secret-do-not-use-in-production';
/** DuckDB's memory limit when STRATA_DUCKDB_MEMORY_MB is unset (start-up errors quote it). */
export const DUCKDB_MEMORY_MB_DEFAULT = 128;

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

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const durationMs = (fallback: string) =>
  z.string().regex(/^\d+(ms|s|m|h)?$/, 'a duration such as 500ms, 15s, 10m or 6h').default(fallback).transform(toMs);

const EnvSchema = z.object({
  STRATA_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(4000),
  STRATA_DB: z.string().min(1).default('data/strata.duckdb'),
  STRATA_STORE: z.enum(['duckdb', 'druid']).default('duckdb'),
  DRUID_URL: z.url({ protocol: /^https?$/ }).optional(),
  DRUID_COORDINATOR_URL: z.url({ protocol: /^https?$/ }).optional(),
  STRATA_CACHE: z.enum(['memory', 'redis']).default('memory'),
  REDIS_URL: z.string().regex(/^rediss?:\/\/[^\s]+$/, 'a URL such as redis://127.0.0.1:6379').optional(),
  STRATA_REDIS_CLUSTER_NODES: z.string().regex(/^rediss?:\/\/\S+(,rediss?:\/\/\S+)*$/, 'comma-separated redis:// URLs').optional(),
  STRATA_REDIS_TIMEOUT: durationMs('50ms'),
  STRATA_EVENTS: z.enum(['memory', 'kafka']).default('memory'),
  KAFKA_BROKERS: z.string().regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, 'comma-separated host:port pairs').optional(),
  STRATA_KAFKA_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('strata.aggregations'),
  STRATA_REPLICA_ID: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).optional(),
  STRATA_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  STRATA_JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { message: 'a PEM public key' }).optional(),
  STRATA_JWT_ISSUER: z.string().min(1).default('strata-dev'),
  STRATA_JWT_AUDIENCE: z.string().min(1).default('strata-api'),
  STRATA_JWT_MAX_LIFETIME: durationMs('24h').refine((ms) => ms >= 60_000 && ms <= 31 * 86_400_000, 'between 1m and 744h (31 days)'),
  STRATA_JWT_CLOCK_TOLERANCE: durationMs('30s').refine((ms) => ms <= 60_000, 'at most 60s: a longer tolerance keeps expired tokens alive'),
  STRATA_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  STRATA_JWKS_TIMEOUT: durationMs('2s').refine((ms) => ms >= 100 && ms <= 10_000, 'between 100ms and 10s'),
  STRATA_JWKS_REFRESH: durationMs('10m').refine((ms) => ms >= 1000 && ms <= 86_400_000, 'between 1s and 24h'),
  STRATA_JWKS_MAX_STALE: durationMs('1h').refine((ms) => ms <= 86_400_000, 'at most 24h'),
  STRATA_JWKS_FETCHES_PER_MINUTE: int(1, 60).default(10),
  STRATA_NOW: z.iso.datetime({ offset: true }).optional(),
  STRATA_CACHE_MAX_MB: int(1, 65536).default(64),
  STRATA_CACHE_COMPLETE_TTL: durationMs('6h'),
  STRATA_CACHE_FRESH_TTL: durationMs('15s'),
  STRATA_CACHE_STALE_TTL: durationMs('24h'),
  STRATA_RESPONSE_CACHE_TTL: durationMs('5s'),
  STRATA_NOW_STEP: durationMs('1m'),
  STRATA_RESPONSE_CACHE_MAX_MB: int(1, 65536).default(32),
  STRATA_DOCUMENT_CACHE_MAX_MB: int(1, 65536).default(32),
  STRATA_WORKERS: int(1, 64).default(1),
  STRATA_DUCKDB_MEMORY_MB: int(16, 1_048_576).default(DUCKDB_MEMORY_MB_DEFAULT),
  STRATA_DUCKDB_THREADS: int(1, 1024).optional(),
  // Read by libuv itself (Node's thread pool, where DuckDB's Node API runs each query); validated here because it also bounds the store's read connections.
  UV_THREADPOOL_SIZE: int(1, 1024).default(4),
  STRATA_AGGREGATE_EVERY: durationMs('60s'),
  STRATA_MAX_POINTS: int(100, 10_000_000).default(100_000),
  STRATA_QUERY_TIMEOUT: durationMs('15s'),
  STRATA_MAX_BODY_BYTES: int(1024, 10_000_000).default(65_536),
  STRATA_BODY_TIMEOUT: durationMs('10s').refine((ms) => ms >= 100 && ms <= 120_000, 'between 100ms and 120s'),
  STRATA_MAX_FUTURE: durationMs('24h').refine((ms) => ms >= 60_000 && ms <= 31 * 86_400_000, 'between 1m and 744h (31 days)'),
  STRATA_MAX_PIECES_PER_FIELD: int(10, 1_000_000).default(1000),
  STRATA_MAX_PIECES_PER_OPERATION: int(10, 10_000_000).default(5000),
  STRATA_MAX_POINTS_PER_OPERATION: int(100, 100_000_000).default(250_000),
  STRATA_MAX_RAW_MINUTES: int(60, 1_000_000_000).default(100_000),
  STRATA_MAX_RAW_MINUTES_INTERNAL: int(60, 1_000_000_000).default(2_000_000),
  STRATA_MAX_RAW_MINUTES_PER_STORE_QUERY: int(60, 1_000_000_000).default(20_000),
  STRATA_MAX_IN_VALUES_PER_OPERATION: int(1, 1_000_000).default(500),
  STRATA_RATE_LIMIT: int(0, 1_000_000).default(6000),
  STRATA_TOKEN_RATE_LIMIT: int(0, 1_000_000).default(3000),
  STRATA_MAX_IN_FLIGHT: int(1, 100_000).default(64),
  STRATA_MAX_IN_FLIGHT_PER_TENANT: int(0, 100_000).default(16),
  STRATA_MAX_IN_FLIGHT_PER_TOKEN: int(0, 100_000).default(12),
  STRATA_STORE_SLOTS_PER_TENANT: int(0, 1024).default(2),
  STRATA_STORE_QUEUE_PER_TENANT: int(0, 100_000).default(32),
  STRATA_WS_MAX_CONNECTIONS: int(1, 1_000_000).default(500),
  STRATA_WS_CONNECTIONS_PER_TENANT: int(1, 1_000_000).default(25),
  STRATA_WS_CONNECTIONS_PER_TOKEN: int(1, 1_000_000).default(10),
  STRATA_MAX_SUBSCRIPTIONS: int(1, 10_000_000).default(1000),
  STRATA_SUBSCRIPTIONS_PER_TENANT: int(1, 10_000_000).default(100),
  STRATA_DRAIN_TIMEOUT: durationMs('10s'),
  STRATA_BREAKER_RESET: durationMs('5s'),
  STRATA_EXPORT_DELAY: durationMs('0s').refine((ms) => ms <= 600_000, 'at most 10m'),
  STRATA_EXPORT_MAX_CLUSTERS: int(1, 1000).default(20),
  STRATA_METRICS_OPERATIONS: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}(,[A-Za-z_][A-Za-z0-9_]{0,63})*$/, 'comma-separated GraphQL operation names').optional(),
  STRATA_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  STRATA_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'an http(s) URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318' }).optional(),
  STRATA_TRACE_SAMPLE_RATIO: z.coerce.number().min(0, 'between 0 and 1').max(1, 'between 0 and 1').default(1),
});

export type Env = z.infer<typeof EnvSchema>;

/** Every variable this module reads (README's configuration table lists each). */
export const ENV_VARIABLES = Object.keys(EnvSchema.shape) as readonly (keyof Env)[];

export interface Config {
  readonly env: Env['STRATA_ENV'];
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  readonly store: { readonly kind: Env['STRATA_STORE']; readonly druidUrl: string | undefined; readonly druidCoordinatorUrl: string | undefined };
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
  readonly events: { readonly kind: Env['STRATA_EVENTS']; readonly brokers: readonly string[]; readonly topic: string; readonly replicaId: string };
  readonly jwt: JwtConfig;
  readonly fixedNow: number | undefined;
  readonly aggregateEveryMs: number;
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
  /** GraphQL operation names /metrics may use as label values; any other is "other". */
  readonly metricsOperations: readonly string[];
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

export class ConfigError extends Error {}

export function loadConfig(source: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Env, string>> = {}): Config {
  const parsed = EnvSchema.safeParse({ ...pickDefined(source), ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(valueAt(source, overrides, String(i.path[0])))})`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix the variables above (see README.md, "Configuration") and start again.`);
  }
  const e = parsed.data;
  requireFor(e.STRATA_CACHE === 'redis' && !e.REDIS_URL && !e.STRATA_REDIS_CLUSTER_NODES, 'REDIS_URL', 'required when STRATA_CACHE=redis (e.g. redis://127.0.0.1:6379; or STRATA_REDIS_CLUSTER_NODES)');
  requireFor(e.STRATA_STORE === 'druid' && !e.DRUID_URL, 'DRUID_URL', 'required when STRATA_STORE=druid: the broker (or router) URL, e.g. http://127.0.0.1:8082');
  requireFor(e.STRATA_EVENTS === 'kafka' && !e.KAFKA_BROKERS, 'KAFKA_BROKERS', 'required when STRATA_EVENTS=kafka (e.g. 127.0.0.1:9092)');
  const jwt = jwtConfig(e);
  // The development secret is public (it is in this file): anyone who reaches the port could mint an internal token.
  requireFor(
    jwt.kind === 'hmac' && jwt.isDevSecret && (!isLoopback(e.HOST) || e.STRATA_ENV === 'production'),
    'STRATA_JWT_SECRET',
    `the development signing key is public, so Strata serves with it only on a loopback address outside production, not on HOST=${e.HOST} with STRATA_ENV=${e.STRATA_ENV}. ` +
      'Set STRATA_JWKS_URL (or STRATA_JWT_PUBLIC_KEY, or a private STRATA_JWT_SECRET of 32+ characters), or bind HOST=127.0.0.1',
  );
  return {
    env: e.STRATA_ENV,
    host: e.HOST,
    port: e.PORT,
    dbPath: e.STRATA_DB,
    store: { kind: e.STRATA_STORE, druidUrl: e.DRUID_URL, druidCoordinatorUrl: e.DRUID_COORDINATOR_URL },
    cache: {
      kind: e.STRATA_CACHE,
      maxBytes: e.STRATA_CACHE_MAX_MB * 1024 * 1024,
      completeTtlMs: e.STRATA_CACHE_COMPLETE_TTL,
      freshTtlMs: e.STRATA_CACHE_FRESH_TTL,
      staleTtlMs: e.STRATA_CACHE_STALE_TTL,
      redisUrl: e.REDIS_URL,
      redisClusterNodes: e.STRATA_REDIS_CLUSTER_NODES?.split(',') ?? [],
      redisTimeoutMs: e.STRATA_REDIS_TIMEOUT,
    },
    events: {
      kind: e.STRATA_EVENTS,
      brokers: e.KAFKA_BROKERS?.split(',') ?? [],
      topic: e.STRATA_KAFKA_TOPIC,
      // Stable across restarts (the consumer group resumes); give each replica on one host its own.
      replicaId: e.STRATA_REPLICA_ID ?? hostname(),
    },
    jwt,
    fixedNow: e.STRATA_NOW ? Date.parse(e.STRATA_NOW) : undefined,
    aggregateEveryMs: e.STRATA_AGGREGATE_EVERY,
    limits: limitsOf(e),
    edge: edgeOf(e),
    logLevel: e.STRATA_LOG_LEVEL,
    tracing: { otlpEndpoint: e.STRATA_OTLP_ENDPOINT, sampleRatio: e.STRATA_TRACE_SAMPLE_RATIO },
    responseCache: { ttlMs: e.STRATA_RESPONSE_CACHE_TTL, maxBytes: e.STRATA_RESPONSE_CACHE_MAX_MB * 1024 * 1024 },
    documentCacheBytes: e.STRATA_DOCUMENT_CACHE_MAX_MB * 1024 * 1024,
    nowStepMs: e.STRATA_NOW_STEP,
    workers: e.STRATA_WORKERS,
    duckdb: { memoryBytes: e.STRATA_DUCKDB_MEMORY_MB * 1024 * 1024, threads: e.STRATA_DUCKDB_THREADS, readsAtOnce: e.UV_THREADPOOL_SIZE },
    metricsExport: { delayMs: e.STRATA_EXPORT_DELAY, maxClusters: e.STRATA_EXPORT_MAX_CLUSTERS },
    subscriptions: {
      maxConnections: e.STRATA_WS_MAX_CONNECTIONS,
      connectionsPerTenant: e.STRATA_WS_CONNECTIONS_PER_TENANT,
      connectionsPerToken: e.STRATA_WS_CONNECTIONS_PER_TOKEN,
      maxSubscriptions: e.STRATA_MAX_SUBSCRIPTIONS,
      subscriptionsPerTenant: e.STRATA_SUBSCRIPTIONS_PER_TENANT,
    },
    metricsOperations: e.STRATA_METRICS_OPERATIONS?.split(',') ?? [],
  };
}

function limitsOf(e: Env): Limits {
  return {
    maxPoints: e.STRATA_MAX_POINTS,
    defaultSeriesLimit: 100,
    maxSeriesLimit: 1000,
    maxFilterNodes: 64,
    maxFilterDepth: 8,
    maxInValues: 100,
    maxQueryDepth: 8,
    maxAliases: 30,
    maxCost: 5000,
    maxTimeseriesFields: 24,
    maxBodyBytes: e.STRATA_MAX_BODY_BYTES,
    queryTimeoutMs: e.STRATA_QUERY_TIMEOUT,
    maxFutureMs: e.STRATA_MAX_FUTURE,
    maxPiecesPerField: e.STRATA_MAX_PIECES_PER_FIELD,
    maxPiecesPerOperation: e.STRATA_MAX_PIECES_PER_OPERATION,
    maxPointsPerOperation: e.STRATA_MAX_POINTS_PER_OPERATION,
    maxRawMinutesPerOperation: e.STRATA_MAX_RAW_MINUTES,
    maxRawMinutesInternal: e.STRATA_MAX_RAW_MINUTES_INTERNAL,
    maxInValuesPerOperation: e.STRATA_MAX_IN_VALUES_PER_OPERATION,
    // A filter is at most 8 deep (each level an object and a list); 32 leaves room for any valid input.
    maxInputDepth: 32,
  };
}

function edgeOf(e: Env): EdgeConfig {
  return {
    tenantPerMinute: e.STRATA_RATE_LIMIT,
    tokenPerMinute: e.STRATA_TOKEN_RATE_LIMIT,
    maxInFlight: e.STRATA_MAX_IN_FLIGHT,
    drainTimeoutMs: e.STRATA_DRAIN_TIMEOUT,
    breakerResetMs: e.STRATA_BREAKER_RESET,
    bodyTimeoutMs: e.STRATA_BODY_TIMEOUT,
    inFlightPerTenant: e.STRATA_MAX_IN_FLIGHT_PER_TENANT,
    inFlightPerToken: e.STRATA_MAX_IN_FLIGHT_PER_TOKEN,
    rawMinutesPerStoreQuery: e.STRATA_MAX_RAW_MINUTES_PER_STORE_QUERY,
    storeSlotsPerTenant: e.STRATA_STORE_SLOTS_PER_TENANT,
    storeQueuePerTenant: e.STRATA_STORE_QUEUE_PER_TENANT,
  };
}

function requireFor(missing: boolean, variable: string, why: string): void {
  if (missing) throw new ConfigError(`Invalid configuration:\n  ${variable}: ${why}.`);
}

function jwtConfig(e: Env): JwtConfig {
  const base = {
    issuer: e.STRATA_JWT_ISSUER,
    audience: e.STRATA_JWT_AUDIENCE,
    clockToleranceSeconds: Math.floor(e.STRATA_JWT_CLOCK_TOLERANCE / 1000),
    maxLifetimeSeconds: Math.floor(e.STRATA_JWT_MAX_LIFETIME / 1000),
  };
  if (e.STRATA_JWKS_URL) return { kind: 'jwks', jwks: jwksConfig(e, e.STRATA_JWKS_URL), ...base };
  if (e.STRATA_JWT_PUBLIC_KEY) return { kind: 'public-key', publicKey: e.STRATA_JWT_PUBLIC_KEY, ...base };
  if (e.STRATA_JWT_SECRET) return { kind: 'hmac', secret: e.STRATA_JWT_SECRET, isDevSecret: e.STRATA_JWT_SECRET === DEV_JWT_SECRET, ...base };
  if (e.STRATA_ENV === 'production') {
    throw new ConfigError(
      'Invalid configuration:\n  STRATA_JWKS_URL or STRATA_JWT_PUBLIC_KEY: required when STRATA_ENV=production (the issuer\'s JWKS URL, or a PEM public key, to verify RS256/ES256 tokens); ' +
        'the development signing key is never used in production.',
    );
  }
  return { kind: 'hmac', secret: DEV_JWT_SECRET, isDevSecret: true, ...base };
}

function jwksConfig(e: Env, url: string): JwksConfig {
  requireFor(Boolean(e.STRATA_JWT_PUBLIC_KEY || e.STRATA_JWT_SECRET), 'STRATA_JWKS_URL', 'set it alone: unset STRATA_JWT_PUBLIC_KEY and STRATA_JWT_SECRET (one key source at a time)');
  requireFor(e.STRATA_ENV === 'production' && !url.startsWith('https:'), 'STRATA_JWKS_URL', `must be https:// when STRATA_ENV=production (got ${url})`);
  requireFor(e.STRATA_JWKS_MAX_STALE < e.STRATA_JWKS_REFRESH, 'STRATA_JWKS_MAX_STALE', `must be at least STRATA_JWKS_REFRESH (${e.STRATA_JWKS_REFRESH} ms)`);
  return { url, timeoutMs: e.STRATA_JWKS_TIMEOUT, refreshMs: e.STRATA_JWKS_REFRESH, maxStaleMs: e.STRATA_JWKS_MAX_STALE, fetchesPerMinute: e.STRATA_JWKS_FETCHES_PER_MINUTE };
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function toMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  const n = Number(m?.[1] ?? 0);
  const unit = m?.[2] ?? 'ms';
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit]!;
}

function pickDefined(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

function valueAt(source: NodeJS.ProcessEnv, overrides: Record<string, string | undefined>, key: string): string | undefined {
  return overrides[key] ?? source[key];
}
