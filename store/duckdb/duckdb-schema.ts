import {
  LABEL_COLUMNS,
  METRICS,
  levelId,
  type Catalog,
  type LabelColumn,
  type RollupDefinition,
  type RollupName,
} from '../../catalog/catalog.ts';
import { ident, join, raw, sql, type Sql } from '../sql-fragment.ts';
import type { Interval } from '../../planner/query.ts';
import { quote, sqlText, type SqlText } from './duckdb-sql.ts';

const LABEL_DDL = LABEL_COLUMNS.map((c) => `${quote(c)} VARCHAR`).join(', ');

/** The raw table: one row per series and minute, every label a column (in the registry's order). */
export const RAW_DDL = `CREATE TABLE IF NOT EXISTS telemetry_raw (__time TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, ${LABEL_DDL}, value DOUBLE NOT NULL)`;

/** A rollup's table: one row per bucket, metric, level and label values of that level. */
export const rollupDdl = (
  name: RollupName,
): string => `CREATE TABLE IF NOT EXISTS ${quote(name)} (__time TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL,
      resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, level VARCHAR NOT NULL, ${LABEL_DDL},
      v_sum DOUBLE, v_min DOUBLE, v_max DOUBLE, v_last DOUBLE, minutes BIGINT, samples BIGINT)`;

/** Tables of the embedded store, one per rollup of the catalog; the Druid datasources have the same columns. */
export const schemaDdl = (catalog: Catalog): string[] => [
  RAW_DDL,
  ...catalog.rollups.map(({ name }) => rollupDdl(name)),
  `CREATE TABLE IF NOT EXISTS resources (tenant_id VARCHAR NOT NULL, resource_id VARCHAR PRIMARY KEY)`,
  `CREATE TABLE IF NOT EXISTS strata_watermarks (datasource VARCHAR PRIMARY KEY, watermark_ms BIGINT NOT NULL)`,
];

const range = ({ start, end }: Interval): Sql =>
  sql`__time >= epoch_ms(CAST(${start} AS BIGINT)) AND __time < epoch_ms(CAST(${end} AS BIGINT))`;

/**
 * Rebuild statements for one rollup over a closed interval: delete the old
 * buckets, then insert, for each metric and label level, the time aggregates
 * of the per-minute space SUM at that level (DESIGN.md section 2).
 *
 * One insert, in series order (cluster, metric, level, time): a read names
 * its clusters (customers must), always a metric and a level, so in this
 * order it skips the row groups of every other series by their min/max,
 * instead of scanning the whole rollup (a 30-day hourly read of one cluster:
 * 13 ms to 6 ms on a 480,000-row rollup). The cluster comes first, not the
 * tenant: a cluster id belongs to one tenant, and with the tenant first a row
 * group spans the clusters of two tenants, whose ids are not ordered across
 * them, so a read of one cluster by the all-tenants scope still scanned
 * every row group (1.9 M rows: 8-10 ms against 3-6 ms in this order).
 */
export function rollupStatements(rollup: RollupDefinition, interval: Interval): SqlText[] {
  const parts: Sql[] = [];
  for (const metric of METRICS) {
    for (const level of rollup.levels[metric.name] ?? []) parts.push(levelSelect(rollup.bucketMs, metric.name, level, interval));
  }
  const table = ident(rollup.name);
  return [
    sqlText(sql`DELETE FROM ${table} WHERE ${range(interval)}`),
    sqlText(sql`INSERT INTO ${table} SELECT * FROM (${join(
      parts.map((p) => sql`(${p})`),
      '\nUNION ALL\n',
    )})
        ORDER BY resource_id, metric, level, __time`),
  ];
}

/** One (metric, level) of a rollup: the time aggregates of the per-minute space SUM at that level. */
function levelSelect(bucketMs: number, metric: string, level: readonly LabelColumn[], interval: Interval): Sql {
  const labels = level.map((c) => ident(c));
  const inner = join([raw('__time, tenant_id, resource_id'), ...labels]);
  const outerKeys = join([raw('tenant_id, resource_id'), ...labels]);
  const labelCols = join(LABEL_COLUMNS.map((c) => (level.includes(c) ? ident(c) : sql`CAST(NULL AS VARCHAR) AS ${ident(c)}`)));
  return sql`SELECT epoch_ms(CAST(floor(epoch_ms(__time) / ${bucketMs}) * ${bucketMs} AS BIGINT)) AS __time, tenant_id, resource_id, ${metric} AS metric, ${levelId(level)} AS level,
            ${labelCols}, SUM(s) AS v_sum, MIN(s) AS v_min, MAX(s) AS v_max, arg_max(s, __time) AS v_last, COUNT(*) AS minutes, SUM(n) AS samples
          FROM (SELECT ${inner}, SUM(value) AS s, COUNT(*) AS n FROM telemetry_raw
                WHERE metric = ${metric} AND ${range(interval)} GROUP BY ${inner})
          GROUP BY 1, ${outerKeys}`;
}
