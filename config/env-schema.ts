import { z } from 'zod';

/**
 * Every variable Strata reads, with its type, bounds and default: the schema
 * config.ts validates the environment against (and README's table lists).
 */

/** DuckDB's memory limit when STRATA_DUCKDB_MEMORY_MB is unset (start-up errors quote it). */
export const DUCKDB_MEMORY_MB_DEFAULT = 128;
/** The longest lateness window: raw retention, 7 days (catalog's RAW_RETENTION_MS; config is a leaf and imports nothing). */
export const MAX_LATENESS_LIMIT_MS = 7 * 86_400_000;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const durationMs = (fallback: string) =>
  z
    .string()
    .regex(/^\d+(ms|s|m|h)?$/, 'a duration such as 500ms, 15s, 10m or 6h')
    .default(fallback)
    .transform(toMs);

export const EnvSchema = z.object({
  STRATA_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(4000),
  STRATA_DB: z.string().min(1).default('data/strata.duckdb'),
  STRATA_STORE: z.enum(['duckdb', 'druid']).default('duckdb'),
  // Read when the catalog is first imported (config/metrics-file.ts); unset: the bundled catalog/metrics.json.
  STRATA_METRICS_FILE: z.string().min(1, 'a path to a JSON metric registry').optional(),
  DRUID_URL: z.url({ protocol: /^https?$/ }).optional(),
  DRUID_COORDINATOR_URL: z.url({ protocol: /^https?$/ }).optional(),
  STRATA_CACHE: z.enum(['memory', 'redis']).default('memory'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'a URL such as redis://127.0.0.1:6379')
    .optional(),
  STRATA_REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^rediss?:\/\/\S+(,rediss?:\/\/\S+)*$/, 'comma-separated redis:// URLs')
    .optional(),
  STRATA_REDIS_TIMEOUT: durationMs('50ms'),
  STRATA_EVENTS: z.enum(['memory', 'kafka']).default('memory'),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, 'comma-separated host:port pairs')
    .optional(),
  STRATA_KAFKA_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .default('strata.aggregations'),
  STRATA_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/)
    .optional(),
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
  STRATA_DEMO_FEED: z.enum(['on', 'off']).optional(),
  STRATA_DEMO_FEED_EVERY: durationMs('10s').refine((ms) => ms >= 1000 && ms <= 600_000, 'between 1s and 10m'),
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
  STRATA_METRICS_OPERATIONS: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}(,[A-Za-z_][A-Za-z0-9_]{0,63})*$/, 'comma-separated GraphQL operation names')
    .optional(),
  STRATA_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  STRATA_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318' })
    .optional(),
  STRATA_OTLP_MAX_BODY_BYTES: int(1024, 67_108_864).default(4_194_304),
  STRATA_OTLP_MAX_FUTURE: durationMs('5m').refine((ms) => ms <= 3_600_000, 'at most 1h'),
  // Older raw data is never read, so a window past raw retention would only store points no answer sees.
  STRATA_OTLP_MAX_LATENESS: durationMs('48h').refine(
    (ms) => ms > 0 && ms <= MAX_LATENESS_LIMIT_MS,
    'more than 0 and at most 168h (raw retention, 7 days); set a duration such as 48h',
  ),
  STRATA_OTLP_QUEUE_POINTS: int(1000, 10_000_000).default(200_000),
  STRATA_OTLP_MAX_SERIES_PER_TENANT: int(1, 10_000_000).default(100_000),
  STRATA_TRACE_SAMPLE_RATIO: z.coerce.number().min(0, 'between 0 and 1').max(1, 'between 0 and 1').default(1),
});

export type Env = z.infer<typeof EnvSchema>;

/** Every variable this module reads (README's configuration table lists each). */
export const ENV_VARIABLES = Object.keys(EnvSchema.shape) as readonly (keyof Env)[];

/** `500ms`, `15s`, `10m`, `6h` or a bare number of milliseconds. */
function toMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  const n = Number(m?.[1] ?? 0);
  const unit = m?.[2] ?? 'ms';
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit]!;
}
