import type { DuckDBConnection } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import { seriesKey } from '../../ingest/ingest-point.ts';
import { POINTS_DDL } from './duckdb-point-sql.ts';
import { inTransaction } from './in-transaction.ts';

/** The label columns, in order, of the series keys written before keys named their labels. */
const KEYED_LABELS = ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id'];

/**
 * Brings a file written before points were narrow (every point carrying
 * its cluster, metric and labels, keyed by every point, series keys listing
 * every label column's value) to the current layout, in one transaction:
 * one ingest_series row per series with its key in the current form, and
 * each point's increment by the rule over its run. The writer then finds
 * the series' heads from their points, as after any restart. A file without
 * points, or already current, is left as it is.
 */
export async function migratePoints(connection: DuckDBConnection): Promise<void> {
  const columns = (
    await connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'ingest_points' AND schema_name = 'main'`)
  ).getRowObjectsJS();
  if (columns.length === 0 || columns.some((c) => c['column_name'] === 'series_id')) return;
  // A label the registry gained since has no column in the old table: its series have none of it.
  const stored = new Set(columns.map((c) => String(c['column_name'])));
  const labels = LABEL_COLUMNS.map((c) => (stored.has(c) ? `any_value(o."${c}")` : 'NULL'));
  await inTransaction(connection, async () => {
    await connection.run('ALTER TABLE ingest_points RENAME TO ingest_points_old');
    await rekey(connection);
    await connection.run(`INSERT INTO ingest_series
      SELECT row_number() OVER (ORDER BY k.new), k.new, any_value(o.tenant_id), any_value(o.resource_id), any_value(o.metric),
        ${labels.join(', ')}, NULL, NULL, NULL, NULL, NULL
      FROM ingest_points_old o JOIN ingest_rekey k ON o.series = k.old GROUP BY k.new`);
    await connection.run(POINTS_DDL);
    await connection.run(`INSERT INTO ingest_points
      SELECT series_id, temporality, start_ns, time_ns, value,
        CASE WHEN temporality = 'cumulative' AND previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END
      FROM (SELECT s.series_id, o.temporality, o.start_ns, o.time_ns, o.value,
              lag(o.value) OVER (PARTITION BY s.series_id, o.temporality, o.start_ns ORDER BY o.time_ns) AS previous
            FROM ingest_points_old o JOIN ingest_rekey k ON o.series = k.old JOIN ingest_series s ON s.series = k.new)
      ORDER BY time_ns`);
    for (const table of ['ingest_points_old', 'ingest_rekey', 'ingest_runs']) await connection.run(`DROP TABLE IF EXISTS ${table}`);
  });
}

/** A temporary table from each series' old key (every label column's value, nulls too) to the current one (seriesKey). */
async function rekey(connection: DuckDBConnection): Promise<void> {
  const rows = (await connection.runAndReadAll('SELECT DISTINCT series FROM ingest_points_old')).getRowObjectsJS();
  await connection.run('CREATE TEMP TABLE ingest_rekey (old VARCHAR, new VARCHAR)');
  const appender = await connection.createAppender('ingest_rekey', 'main', 'temp');
  try {
    for (const { series } of rows) {
      appender.appendVarchar(String(series));
      appender.appendVarchar(currentKey(String(series)));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** An old key lists every label column's value (an odd length); a current one names its labels (an even length). */
function currentKey(old: string): string {
  const parts = JSON.parse(old) as (string | null)[];
  if (parts.length % 2 === 0) return old;
  const [resourceId = '', metric = '', ...values] = parts;
  const labels: Record<string, string> = {};
  KEYED_LABELS.forEach((label, i) => {
    const value = values[i];
    if (typeof value === 'string') labels[label] = value;
  });
  return seriesKey({ resourceId: String(resourceId), metric: String(metric), labels });
}
