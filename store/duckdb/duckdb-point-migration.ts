import type { DuckDBConnection } from '@duckdb/node-api';
import { seriesKey } from '../../ingest/ingest-point.ts';
import { POINTS_DDL, RUNS_DDL } from './duckdb-point-sql.ts';

/** The label columns, in order, of the series keys written before keys named their labels. */
const KEYED_LABELS = ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id'];

/**
 * Brings a file written before points kept their increments (a table keyed
 * by every point, no `increment`, no run heads, series keys listing every
 * label column's value) to the current layout, in one transaction: each
 * series' key in the current form, each point's increment by the rule over
 * its run, each cumulative run's head. A file without points, or already
 * current, is left as it is.
 */
export async function migratePoints(connection: DuckDBConnection): Promise<void> {
  const columns = (
    await connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'ingest_points' AND schema_name = 'main'`)
  ).getRowObjectsJS();
  if (columns.length === 0 || columns.some((c) => c['column_name'] === 'increment')) return;
  await connection.run('BEGIN TRANSACTION');
  try {
    await connection.run('ALTER TABLE ingest_points RENAME TO ingest_points_keyed');
    await rekey(connection);
    await connection.run(POINTS_DDL);
    await connection.run(RUNS_DDL);
    await connection.run(`INSERT INTO ingest_points
      SELECT * EXCLUDE (previous), CASE WHEN temporality = 'cumulative' AND previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END
      FROM (SELECT *, lag(value) OVER (PARTITION BY series, temporality, start_ns ORDER BY time_ns) AS previous
            FROM (SELECT k.new AS series, p.* EXCLUDE (series) FROM ingest_points_keyed p JOIN ingest_rekey k ON p.series = k.old))
      ORDER BY time_ns`);
    await connection.run(`INSERT INTO ingest_runs SELECT series, temporality, start_ns, max(time_ns), arg_max(value, time_ns)
      FROM ingest_points WHERE temporality = 'cumulative' GROUP BY ALL`);
    await connection.run('DROP TABLE ingest_points_keyed');
    await connection.run('DROP TABLE ingest_rekey');
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** A temporary table from each series' old key (every label column's value, nulls too) to the current one (seriesKey). */
async function rekey(connection: DuckDBConnection): Promise<void> {
  const rows = (await connection.runAndReadAll('SELECT DISTINCT series FROM ingest_points_keyed')).getRowObjectsJS();
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

function currentKey(old: string): string {
  const [resourceId = '', metric = '', ...values] = JSON.parse(old) as (string | null)[];
  const labels: Record<string, string> = {};
  KEYED_LABELS.forEach((label, i) => {
    const value = values[i];
    if (typeof value === 'string') labels[label] = value;
  });
  return seriesKey({ resourceId: String(resourceId), metric: String(metric), labels });
}
