import { LABEL_COLUMNS, METRICS, levelId, type RollupDefinition } from '../../catalog/catalog.ts';
import type { Interval } from '../../planner/query.ts';
import { quote } from './duckdb-sql.ts';

const LABEL_DDL = LABEL_COLUMNS.map((c) => `${quote(c)} VARCHAR`).join(', ');

/** Tables of the embedded store; the Druid datasources have the same columns. */
export const SCHEMA_DDL = [
  `CREATE TABLE IF NOT EXISTS telemetry_raw (__time TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, ${LABEL_DDL}, value DOUBLE NOT NULL)`,
  ...['rollup_1h', 'rollup_1d'].map(
    (name) => `CREATE TABLE IF NOT EXISTS ${name} (__time TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL,
      resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, level VARCHAR NOT NULL, ${LABEL_DDL},
      v_sum DOUBLE, v_min DOUBLE, v_max DOUBLE, v_last DOUBLE, minutes BIGINT, samples BIGINT)`,
  ),
  `CREATE TABLE IF NOT EXISTS resources (tenant_id VARCHAR NOT NULL, resource_id VARCHAR PRIMARY KEY)`,
  `CREATE TABLE IF NOT EXISTS strata_watermarks (datasource VARCHAR PRIMARY KEY, watermark_ms BIGINT NOT NULL)`,
];

export interface Statement {
  readonly sql: string;
  readonly params: (string | number)[];
}

const RANGE = '__time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))';

/**
 * Rebuild statements for one rollup over a closed interval: delete the old
 * buckets, then for each metric and label level insert the time aggregates of
 * the per-minute space SUM at that level (DESIGN.md section 2).
 */
export function rollupStatements(rollup: RollupDefinition, interval: Interval): Statement[] {
  const statements: Statement[] = [
    { sql: `DELETE FROM ${rollup.name} WHERE ${RANGE}`, params: [interval.start, interval.end] },
  ];
  for (const metric of METRICS) {
    for (const level of rollup.levels[metric.name] ?? []) {
      const labels = level.map(quote);
      const inner = ['__time', 'tenant_id', 'resource_id', ...labels].join(', ');
      const outerKeys = ['tenant_id', 'resource_id', ...labels].join(', ');
      const labelCols = LABEL_COLUMNS.map((c) => (level.includes(c) ? quote(c) : `CAST(NULL AS VARCHAR)`)).join(', ');
      statements.push({
        sql: `INSERT INTO ${rollup.name}
          SELECT epoch_ms(CAST(floor(epoch_ms(__time) / ?) * ? AS BIGINT)) AS bucket, tenant_id, resource_id, ? AS metric, ? AS level,
            ${labelCols}, SUM(s), MIN(s), MAX(s), arg_max(s, __time), COUNT(*), SUM(n)
          FROM (SELECT ${inner}, SUM(value) AS s, COUNT(*) AS n FROM telemetry_raw
                WHERE metric = ? AND ${RANGE} GROUP BY ${inner})
          GROUP BY bucket, ${outerKeys}`,
        params: [rollup.bucketMs, rollup.bucketMs, metric.name, levelId(level), metric.name, interval.start, interval.end],
      });
    }
  }
  return statements;
}
