/**
 * The metric catalog: the single registry of metric definitions and rollups.
 * Every other module (planner, store SQL, aggregator, seed, GraphQL descriptors)
 * reads definitions from here, so a metric or rollup is added in one place.
 */

export type MetricKind = 'COUNTER' | 'GAUGE';
export type Aggregation = 'SUM' | 'MIN' | 'MAX' | 'AVG' | 'COUNT';

/** Every label column of the raw table, in storage order. */
export const LABEL_COLUMNS = ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id'] as const;
export type LabelColumn = (typeof LABEL_COLUMNS)[number];

/** Keys a query may group or filter by: the metric's labels plus the cluster. */
export type GroupKey = LabelColumn | 'resource_id';
export const GROUP_KEYS: readonly GroupKey[] = ['resource_id', ...LABEL_COLUMNS];

export interface MetricDefinition {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: string;
  readonly description: string;
  readonly labels: readonly LabelColumn[];
  readonly defaultAggregation: Aggregation;
}

/** A rollup's name, which is also its table (DuckDB) or datasource (Druid): see `Catalog.rollups`. */
export type RollupName = string;
/** Where a plan fragment is read from: `raw` or a rollup's name. */
export type Datasource = 'raw' | RollupName;

/**
 * A rollup stores, per bucket, time aggregates of the per-minute space SUM at
 * one or more label levels per metric. `resource_id` is part of every level.
 */
export interface RollupDefinition {
  readonly name: RollupName;
  readonly bucketMs: number;
  readonly retentionMs: number;
  /** metric name -> label levels (each a sorted label list, [] = cluster level) */
  readonly levels: Readonly<Record<string, readonly (readonly LabelColumn[])[]>>;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const PREFIX = 'io.confluent.kafka.server/';

function counter(name: string, unit: string, description: string, labels: LabelColumn[]): MetricDefinition {
  return { name: PREFIX + name, kind: 'COUNTER', unit, description, labels, defaultAggregation: 'SUM' };
}

function gauge(name: string, unit: string, description: string, labels: LabelColumn[]): MetricDefinition {
  return { name: PREFIX + name, kind: 'GAUGE', unit, description, labels, defaultAggregation: 'AVG' };
}

export const METRICS: readonly MetricDefinition[] = [
  counter('received_bytes', 'By', 'Bytes produced to the cluster by clients, per minute.', ['topic']),
  counter('sent_bytes', 'By', 'Bytes consumed from the cluster by clients, per minute.', ['topic']),
  counter('received_records', '{record}', 'Records produced to the cluster, per minute.', ['topic']),
  counter('sent_records', '{record}', 'Records consumed from the cluster, per minute.', ['topic']),
  counter('request_count', '{request}', 'Requests received by the brokers, per minute.', ['request_type']),
  gauge('retained_bytes', 'By', 'Bytes retained on disk, sampled each minute.', ['topic', 'partition']),
  gauge('active_connection_count', '{connection}', 'Open client connections, sampled each minute.', []),
  gauge('partition_count', '{partition}', 'Partitions hosted by the cluster, sampled each minute.', []),
  gauge('consumer_lag_offsets', '{offset}', 'Consumer group lag in offsets, sampled each minute.', ['consumer_group_id', 'topic']),
];

export const METRIC_NAMES = {
  receivedBytes: `${PREFIX}received_bytes`,
  sentBytes: `${PREFIX}sent_bytes`,
  retainedBytes: `${PREFIX}retained_bytes`,
  partitionCount: `${PREFIX}partition_count`,
} as const;

/**
 * Billing usage: each output column is the per-day sum of one metric (bytes
 * in and out, byte-minutes stored, partition-minutes). Both stores compute
 * usage from this list.
 */
export const USAGE_COLUMNS = {
  ingress: METRIC_NAMES.receivedBytes,
  egress: METRIC_NAMES.sentBytes,
  storage: METRIC_NAMES.retainedBytes,
  partitions: METRIC_NAMES.partitionCount,
} as const;

const allMetricLevels = (levelsFor: (m: MetricDefinition) => LabelColumn[][]): Record<string, LabelColumn[][]> =>
  Object.fromEntries(METRICS.map((m) => [m.name, levelsFor(m)]));

/**
 * rollup_1h keeps every label (so additive queries can always use it) and the
 * cluster level (so cluster-wide gauge MIN/MAX/AVG can use it too).
 * rollup_1d keeps the cluster level and the first label only: fewer rows, and
 * exactly the level billing and top-N dashboards ask for.
 */
export const ROLLUPS: readonly RollupDefinition[] = [
  rollupOf('rollup_1d', DAY_MS, 730 * DAY_MS, (m) => [[], m.labels.slice(0, 1)]),
  rollupOf('rollup_1h', HOUR_MS, 90 * DAY_MS, (m) => [[], m.labels.slice(0, 1), [...m.labels]]),
];

/** A rollup of every metric at the label levels `levelsFor` names (the cluster level is `[]`). */
export function rollupOf(
  name: RollupName,
  bucketMs: number,
  retentionMs: number,
  levelsFor: (m: MetricDefinition) => LabelColumn[][],
): RollupDefinition {
  if (!/^rollup_[a-z0-9]+$/.test(name))
    throw new Error(`a rollup's name is its table name: rollup_ and lower-case letters or digits, not "${name}"`);
  return { name, bucketMs, retentionMs, levels: allMetricLevels((m) => uniqueLevels(levelsFor(m))) };
}

/**
 * What the service serves: its metrics and its rollups. Everything that names
 * a rollup (store tables and their builds, watermarks, the event contract,
 * the planner, billing usage, seeding) reads it from here, so a rollup level is
 * added by one entry in `rollups`. Components take a catalog (default
 * `CATALOG`) so that tests can run the whole service on another one.
 */
export interface Catalog {
  readonly metrics: readonly MetricDefinition[];
  /** Distinct bucket sizes; one must be a day, with every usage metric at its cluster level (billing reads it). */
  readonly rollups: readonly RollupDefinition[];
}

export const CATALOG: Catalog = { metrics: METRICS, rollups: ROLLUPS };

/** The catalog with more rollups (checked as `catalogOf` checks). */
export const withRollups = (catalog: Catalog, ...rollups: RollupDefinition[]): Catalog =>
  catalogOf(catalog.metrics, [...catalog.rollups, ...rollups]);

export function catalogOf(metrics: readonly MetricDefinition[], rollups: readonly RollupDefinition[]): Catalog {
  const catalog = { metrics, rollups };
  if (new Set(rollups.map((r) => r.bucketMs)).size !== rollups.length)
    throw new Error('each rollup of a catalog needs its own bucket size');
  if (new Set(rollups.map((r) => r.name)).size !== rollups.length) throw new Error('each rollup of a catalog needs its own name');
  usageRollup(catalog);
  return catalog;
}

/** The rollup named, or an error naming the catalog's rollups. */
export function rollupNamed(catalog: Catalog, name: RollupName): RollupDefinition {
  const rollup = catalog.rollups.find((r) => r.name === name);
  if (!rollup) throw new Error(`unknown rollup ${name} (the catalog has ${rollupNames(catalog).join(', ')})`);
  return rollup;
}

export const rollupNames = (catalog: Catalog): RollupName[] => catalog.rollups.map((r) => r.name);

/** The finest rollup: its watermark is how far upstream has closed the data. */
export function finestRollup(catalog: Catalog): RollupDefinition {
  const [finest] = [...catalog.rollups].sort((a, b) => a.bucketMs - b.bucketMs);
  if (!finest) throw new Error('a catalog needs at least one rollup');
  return finest;
}

/** The daily rollup billing usage reads (each usage metric at the cluster level). */
export function usageRollup(catalog: Catalog): RollupDefinition {
  const daily = catalog.rollups.find((r) => r.bucketMs === DAY_MS);
  const usage = Object.values(USAGE_COLUMNS);
  if (!daily || !usage.every((m) => daily.levels[m]?.some((level) => level.length === 0))) {
    throw new Error('a catalog needs a daily rollup with every usage metric at its cluster level (billing reads it)');
  }
  return daily;
}

/** Every rollup at 0: what a store reports before any build. */
export const zeroWatermarks = (catalog: Catalog): Record<RollupName, number> => Object.fromEntries(rollupNames(catalog).map((n) => [n, 0]));

/** Raw data retention, as a planner rule; forced-raw (debug) queries ignore it. */
export const RAW_RETENTION_MS = 7 * DAY_MS;

function uniqueLevels(levels: LabelColumn[][]): LabelColumn[][] {
  const seen = new Map<string, LabelColumn[]>();
  for (const level of levels) {
    const sorted = [...level].sort();
    seen.set(sorted.join(','), sorted);
  }
  return [...seen.values()];
}

const byName = new Map(METRICS.map((m) => [m.name, m]));

export function findMetric(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** The level id stored in a rollup row's `level` column. */
export function levelId(labels: readonly string[]): string {
  return [...labels].sort().join(',');
}
