/**
 * The metric catalog: the metric definitions of the registry (a data file,
 * catalog/metrics.json or STRATA_METRICS_FILE, checked by metric-registry.ts)
 * and the rollups derived from them. Every other module (planner, store SQL,
 * aggregator, seed, GraphQL descriptors) reads definitions from here, so a
 * metric is added by an entry in the file and a rollup in one place here.
 */

import { readMetricsFile } from '../config/metrics-file.ts';
import { parseMetricRegistry, type LabelColumn, type MetricDefinition, type MetricRegistry } from './metric-registry.ts';

export type { Aggregation, LabelColumn, MetricDefinition, MetricKind, MetricRegistry } from './metric-registry.ts';

const PREFIX = 'io.confluent.kafka.server/';

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

/** The registry this process serves, read once (config/metrics-file.ts says why); the usage metrics must be in it. */
const loadRegistry = (): MetricRegistry => {
  const { file, text } = readMetricsFile();
  return parseMetricRegistry(text, file, Object.values(USAGE_COLUMNS));
};
export const REGISTRY: MetricRegistry = loadRegistry();

/** Every label column of the raw table and the rollups, in storage order (the registry's). */
export const LABEL_COLUMNS: readonly LabelColumn[] = REGISTRY.labels;

/** Keys a query may group or filter by: the metric's labels plus the cluster. */
export type GroupKey = LabelColumn | 'resource_id';
export const GROUP_KEYS: readonly GroupKey[] = ['resource_id', ...LABEL_COLUMNS];

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

export const METRICS: readonly MetricDefinition[] = REGISTRY.metrics;

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

/** Each metric by its catalog name and by every OTel name the registry maps to it (the registry keeps them unique). */
export const metricsByName = (metrics: readonly MetricDefinition[]): ReadonlyMap<string, MetricDefinition> =>
  new Map(metrics.flatMap((m) => [m.name, ...m.otelNames].map((name): [string, MetricDefinition] => [name, m])));

const byName = metricsByName(METRICS);

/** The metric a name means: its catalog name (OTel allows `/` in names) or one of its OTel names. */
export function findMetric(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** The level id stored in a rollup row's `level` column. */
export function levelId(labels: readonly string[]): string {
  return [...labels].sort().join(',');
}
