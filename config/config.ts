import { hostname } from 'node:os';
import { type Env, EnvSchema } from './env-schema.ts';
import type { Limits, Config, EdgeConfig, JwksConfig, JwtConfig } from './config-types.ts';
import { ConfigError } from './config-error.ts';
import { resolveMetricsFile } from './metrics-file.ts';

export type { Limits, Config, SubscriptionConfig, EdgeConfig, IngestConfig, JwksConfig, JwtConfig } from './config-types.ts';
export { DUCKDB_MEMORY_MB_DEFAULT, type Env, ENV_VARIABLES, MAX_LATENESS_LIMIT_MS } from './env-schema.ts';
export { ConfigError } from './config-error.ts';
export { BUNDLED_METRICS_FILE } from './metrics-file.ts';

/**
 * The only module that reads the environment. Everything is validated here,
 * before anything connects, and a bad value stops the process with a message
 * naming the variable and the fix.
 */

export const DEV_JWT_SECRET = 'strata-dev-secret-do-not-use-in-production';

export function loadConfig(source: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Env, string>> = {}): Config {
  const parsed = EnvSchema.safeParse({ ...pickDefined(source), ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(valueAt(source, overrides, String(i.path[0])))})`,
    );
    throw new ConfigError(
      `Invalid configuration:\n${lines.join('\n')}\nFix the variables above (see README.md, "Configuration") and start again.`,
    );
  }
  const e = parsed.data;
  requireFor(
    e.STRATA_CACHE === 'redis' && !e.REDIS_URL && !e.STRATA_REDIS_CLUSTER_NODES,
    'REDIS_URL',
    'required when STRATA_CACHE=redis (e.g. redis://127.0.0.1:6379; or STRATA_REDIS_CLUSTER_NODES)',
  );
  requireFor(
    e.STRATA_STORE === 'druid' && !e.DRUID_URL,
    'DRUID_URL',
    'required when STRATA_STORE=druid: the broker (or router) URL, e.g. http://127.0.0.1:8082',
  );
  requireFor(e.STRATA_EVENTS === 'kafka' && !e.KAFKA_BROKERS, 'KAFKA_BROKERS', 'required when STRATA_EVENTS=kafka (e.g. 127.0.0.1:9092)');
  const jwt = jwtConfig(e);
  // The development secret is public (it is in this file): anyone who reaches the port could mint an internal token.
  requireFor(
    jwt.kind === 'hmac' && jwt.isDevSecret && (!isLoopback(e.HOST) || e.STRATA_ENV === 'production'),
    'STRATA_JWT_SECRET',
    `the development signing key is public, so Strata serves with it only on a loopback address outside production, not on HOST=${e.HOST} with STRATA_ENV=${e.STRATA_ENV}. ` +
      'Set STRATA_JWKS_URL (or STRATA_JWT_PUBLIC_KEY, or a private STRATA_JWT_SECRET of 32+ characters), or bind HOST=127.0.0.1',
  );
  // The feed writes through the embedded store's receiver, with a token it mints itself.
  const feedable = e.STRATA_STORE === 'duckdb' && e.STRATA_WORKERS === 1 && jwt.kind === 'hmac' && !e.STRATA_NOW;
  requireFor(
    e.STRATA_DEMO_FEED === 'on' && !feedable,
    'STRATA_DEMO_FEED',
    'the demo feed needs the embedded store (STRATA_STORE=duckdb), STRATA_WORKERS=1, an HMAC signing key (it mints its own collector token) and no STRATA_NOW; set STRATA_DEMO_FEED=off',
  );
  return {
    env: e.STRATA_ENV,
    host: e.HOST,
    port: e.PORT,
    dbPath: e.STRATA_DB,
    metricsFile: resolveMetricsFile(e.STRATA_METRICS_FILE),
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
    demoFeed: {
      enabled: e.STRATA_DEMO_FEED ? e.STRATA_DEMO_FEED === 'on' : feedable && e.STRATA_ENV === 'development',
      everyMs: e.STRATA_DEMO_FEED_EVERY,
    },
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
    ingest: {
      maxBodyBytes: e.STRATA_OTLP_MAX_BODY_BYTES,
      maxFutureMs: e.STRATA_OTLP_MAX_FUTURE,
      maxLatenessMs: e.STRATA_OTLP_MAX_LATENESS,
      queuePoints: e.STRATA_OTLP_QUEUE_POINTS,
      maxSeriesPerTenant: e.STRATA_OTLP_MAX_SERIES_PER_TENANT,
    },
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
  if (e.STRATA_JWT_SECRET)
    return { kind: 'hmac', secret: e.STRATA_JWT_SECRET, isDevSecret: e.STRATA_JWT_SECRET === DEV_JWT_SECRET, ...base };
  if (e.STRATA_ENV === 'production') {
    throw new ConfigError(
      "Invalid configuration:\n  STRATA_JWKS_URL or STRATA_JWT_PUBLIC_KEY: required when STRATA_ENV=production (the issuer's JWKS URL, or a PEM public key, to verify RS256/ES256 tokens); " +
        'the development signing key is never used in production.',
    );
  }
  return { kind: 'hmac', secret: DEV_JWT_SECRET, isDevSecret: true, ...base };
}

function jwksConfig(e: Env, url: string): JwksConfig {
  requireFor(
    Boolean(e.STRATA_JWT_PUBLIC_KEY || e.STRATA_JWT_SECRET),
    'STRATA_JWKS_URL',
    'set it alone: unset STRATA_JWT_PUBLIC_KEY and STRATA_JWT_SECRET (one key source at a time)',
  );
  requireFor(
    e.STRATA_ENV === 'production' && !url.startsWith('https:'),
    'STRATA_JWKS_URL',
    `must be https:// when STRATA_ENV=production (got ${url})`,
  );
  requireFor(
    e.STRATA_JWKS_MAX_STALE < e.STRATA_JWKS_REFRESH,
    'STRATA_JWKS_MAX_STALE',
    `must be at least STRATA_JWKS_REFRESH (${e.STRATA_JWKS_REFRESH} ms)`,
  );
  return {
    url,
    timeoutMs: e.STRATA_JWKS_TIMEOUT,
    refreshMs: e.STRATA_JWKS_REFRESH,
    maxStaleMs: e.STRATA_JWKS_MAX_STALE,
    fetchesPerMinute: e.STRATA_JWKS_FETCHES_PER_MINUTE,
  };
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function pickDefined(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

function valueAt(source: NodeJS.ProcessEnv, overrides: Record<string, string | undefined>, key: string): string | undefined {
  return overrides[key] ?? source[key];
}
