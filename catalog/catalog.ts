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

export type Datasource = 'raw' | 'rollup_1h' | 'rollup_1d';
export type RollupName = Exclude<Datasource, 'raw'>;

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
  {
    name: 'rollup_1d',
    bucketMs: DAY_MS,
    retentionMs: 730 * DAY_MS,
    levels: allMetricLevels((m) => uniqueLevels([[], m.labels.slice(0, 1)])),
  },
  {
    name: 'rollup_1h',
    bucketMs: HOUR_MS,
    retentionMs: 90 * DAY_MS,
    levels: allMetricLevels((m) => uniqueLevels([[], m.labels.slice(0, 1), [...m.labels]])),
  },
];

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

export function findRollup(name: RollupName): RollupDefinition {
  const rollup = ROLLUPS.find((r) => r.name === name);
  if (!rollup) throw new Error(`unknown rollup ${name}`);
  return rollup;
}

/** The level id stored in a rollup row's `level` column. */
export function levelId(labels: readonly string[]): string {
  return [...labels].sort().join(',');
}
