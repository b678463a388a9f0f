import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import type { TenantScope } from '../../planner/query.ts';

/*
 * The SQL of the point writer (duckdb-point-writer.ts), statement by
 * statement, in the order one write transaction runs them. The derivation is
 * ingest/derive-raw-rows.ts's rule, computed for the series and minutes a
 * write touched; test/ingest-duckdb-writer.test.ts checks the two agree on
 * random point sets.
 */

const q = (identifier: string): string => `"${identifier}"`;
const LABELS = LABEL_COLUMNS.map(q);
const LABEL_DDL = LABELS.map((c) => `${c} VARCHAR`).join(', ');
const NS_PER_MINUTE = '60000000000';

/**
 * Every point received, once: the key is its identity, so a repeat (a
 * retried request) is a no-op. Raw rows are derived from this table.
 */
export const POINTS_DDL = `CREATE TABLE IF NOT EXISTS ingest_points (series VARCHAR NOT NULL, temporality VARCHAR NOT NULL,
  start_ns BIGINT NOT NULL, time_ns BIGINT NOT NULL, tenant_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
  metric VARCHAR NOT NULL, ${LABEL_DDL}, value DOUBLE NOT NULL, PRIMARY KEY (series, temporality, start_ns, time_ns))`;

/** The request's points, appended by the writer (a temporary table of its connection). */
export const BATCH_DDL = `CREATE OR REPLACE TEMP TABLE ingest_batch (series VARCHAR, temporality VARCHAR, start_ns BIGINT,
  time_ns BIGINT, resource_id VARCHAR, metric VARCHAR, ${LABEL_DDL}, value DOUBLE)`;

/** The registry's predicate of the clusters a scope may write (r is the resources table). */
const writable = (scope: TenantScope, params: string[]): string => {
  if (scope.kind === 'all') return 'TRUE';
  params.push(scope.tenantId);
  return 'r.tenant_id = ?';
};

/** Points per cluster the scope may not write: unknown clusters and other tenants' alike. */
export function refusedSql(scope: TenantScope): { sql: string; params: string[] } {
  const params: string[] = [];
  const sql = `SELECT b.resource_id, count(*) AS n FROM ingest_batch b
    LEFT JOIN resources r ON r.resource_id = b.resource_id AND ${writable(scope, params)}
    WHERE r.resource_id IS NULL GROUP BY b.resource_id ORDER BY b.resource_id`;
  return { sql, params };
}

/**
 * The writable points, each identity once (the larger value of a repeat
 * that differs), with the tenant the registry gives their cluster.
 */
export function acceptedSql(scope: TenantScope): { sql: string; params: string[] } {
  const params: string[] = [];
  const sql = `CREATE OR REPLACE TEMP TABLE ingest_accepted AS
    SELECT b.series, b.temporality, b.start_ns, b.time_ns, r.tenant_id, b.resource_id, b.metric, ${LABELS.map((c) => `b.${c}`).join(', ')}, b.value
    FROM (SELECT series, temporality, start_ns, time_ns, resource_id, metric, ${LABELS.join(', ')}, max(value) AS value
          FROM ingest_batch GROUP BY ALL) b
    JOIN resources r ON r.resource_id = b.resource_id AND ${writable(scope, params)}`;
  return { sql, params };
}

export const STORE_POINTS_SQL = `INSERT INTO ingest_points SELECT * FROM ingest_accepted
  ON CONFLICT DO UPDATE SET value = greatest(ingest_points.value, excluded.value)`;

/**
 * The minutes whose rows the write may change: those of its points, and,
 * in a cumulative run, the minute of the next point after each of them
 * (whose increment is counted from the point before it).
 */
export const TOUCHED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_touched AS
  WITH runs AS (SELECT DISTINCT series, temporality, start_ns FROM ingest_accepted WHERE temporality = 'cumulative'),
  following AS (
    SELECT p.series, p.temporality, p.start_ns, p.time_ns,
      lead(p.time_ns) OVER (PARTITION BY p.series, p.temporality, p.start_ns ORDER BY p.time_ns) AS next_ns
    FROM ingest_points p SEMI JOIN runs USING (series, temporality, start_ns))
  SELECT DISTINCT series, time_ns // ${NS_PER_MINUTE} AS minute FROM ingest_accepted
  UNION
  SELECT f.series, f.next_ns // ${NS_PER_MINUTE} FROM following f
    SEMI JOIN ingest_accepted a USING (series, temporality, start_ns, time_ns) WHERE f.next_ns IS NOT NULL`;

/**
 * The rows of the touched minutes, by the rule: a gauge's last point by
 * (time, start, value); a counter's increments summed, a cumulative point's
 * increment its value less the previous of its run, or all of it after a
 * reset (first of a run, or lower than the previous). The previous point is
 * found over the whole run, before the minutes are picked.
 */
export const DERIVED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_derived AS
  WITH touched_series AS (SELECT DISTINCT series FROM ingest_touched),
  points AS (
    SELECT p.*, p.time_ns // ${NS_PER_MINUTE} AS minute,
      lag(p.value) OVER (PARTITION BY p.series, p.temporality, p.start_ns ORDER BY p.time_ns) AS previous
    FROM ingest_points p SEMI JOIN touched_series USING (series)),
  increments AS (
    SELECT *, CASE WHEN temporality = 'cumulative' AND previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END AS increment
    FROM points SEMI JOIN ingest_touched USING (series, minute))
  SELECT epoch_ms(CAST(minute * 60000 AS BIGINT)) AS __time, any_value(tenant_id) AS tenant_id, any_value(resource_id) AS resource_id,
    any_value(metric) AS metric, ${LABELS.map((c) => `any_value(${c}) AS ${c}`).join(', ')},
    CASE WHEN any_value(temporality) = 'gauge' THEN arg_max(value, (time_ns, start_ns, value)) ELSE sum(increment) END AS value
  FROM increments GROUP BY series, minute`;

export const DERIVED_RANGE_SQL = `SELECT CAST(epoch_ms(min(__time)) AS BIGINT) AS lo, CAST(epoch_ms(max(__time)) AS BIGINT) AS hi,
  count(*) AS n FROM ingest_derived`;

/** Drops the raw rows of the touched series-minutes (the time range lets DuckDB skip the other row groups of the time-ordered table). */
export const DELETE_RAW_SQL = `DELETE FROM telemetry_raw t USING ingest_derived d
  WHERE t.__time >= epoch_ms(CAST(? AS BIGINT)) AND t.__time <= epoch_ms(CAST(? AS BIGINT))
    AND t.__time = d.__time AND t.resource_id = d.resource_id AND t.metric = d.metric
    AND ${LABELS.map((c) => `t.${c} IS NOT DISTINCT FROM d.${c}`).join(' AND ')}`;

export const INSERT_RAW_SQL = `INSERT INTO telemetry_raw SELECT __time, tenant_id, resource_id, metric, ${LABELS.join(', ')}, value
  FROM ingest_derived ORDER BY __time, resource_id, metric`;

/**
 * Minutes a write changed below a rollup's watermark (late data): their
 * buckets are built already, so the aggregator rebuilds them. Written in the
 * write's transaction, so a crash between commit and rebuild loses nothing.
 */
export const LATE_DDL = 'CREATE TABLE IF NOT EXISTS ingest_late (minute_ms BIGINT PRIMARY KEY)';

export const MARK_LATE_SQL = `INSERT INTO ingest_late SELECT DISTINCT CAST(epoch_ms(__time) AS BIGINT) FROM ingest_derived
  WHERE epoch_ms(__time) < (SELECT coalesce(max(watermark_ms), 0) FROM strata_watermarks) ON CONFLICT DO NOTHING`;

/** Takes every late minute at once: writes after it mark theirs anew, for the next rebuild. */
export const TAKE_LATE_SQL = 'DELETE FROM ingest_late RETURNING minute_ms';
