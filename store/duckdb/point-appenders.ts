import { type DuckDBAppender, type DuckDBConnection, DuckDBTimestampValue } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import type { Labels } from '../../ingest/ingest-point.ts';
import * as SQL from './duckdb-point-sql.ts';
import type { PointRow, RawRow, WritePlan } from './point-write-plan.ts';
import type { SeriesEntry } from './series-table.ts';

/*
 * The writer's appends, through DuckDB's appender (values handed over
 * without SQL text per row): the bulk of a write, so the fast way costs
 * about what appending its rows costs.
 */

async function withAppender(connection: DuckDBConnection, table: string, temp: boolean, fill: (a: DuckDBAppender) => void): Promise<void> {
  const appender = temp ? await connection.createAppender(table, 'main', 'temp') : await connection.createAppender(table);
  try {
    fill(appender);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

function appendLabels(appender: DuckDBAppender, labels: Labels): void {
  for (const label of LABEL_COLUMNS) {
    const value = labels[label];
    if (value === undefined) appender.appendNull();
    else appender.appendVarchar(value);
  }
}

function appendNullable(appender: DuckDBAppender, value: bigint | number | null, append: (v: never) => void): void {
  if (value === null) appender.appendNull();
  else append(value as never);
}

/** Series seen for the first time, before their points; their heads are set with the points'. */
export function appendNewSeries(connection: DuckDBConnection, entries: readonly SeriesEntry[]): Promise<void> {
  return withAppender(connection, 'ingest_series', false, (a) => {
    for (const e of entries) {
      a.appendInteger(e.id);
      a.appendVarchar(e.key);
      a.appendVarchar(e.tenantId);
      a.appendVarchar(e.resourceId);
      a.appendVarchar(e.metric);
      appendLabels(a, e.labels);
      for (let i = 0; i < 5; i++) a.appendNull();
      a.endRow();
    }
  });
}

/** Points into ingest_points (with their increments), or the SQL way's into its temporary batch table (without: SQL counts them). */
function appendPoints(
  connection: DuckDBConnection,
  points: readonly (PointRow | WritePlan['slowPoints'][number])[],
  batch: boolean,
): Promise<void> {
  return withAppender(connection, batch ? 'ingest_batch' : 'ingest_points', batch, (a) => {
    for (const p of points) {
      a.appendInteger(p.seriesId);
      a.appendVarchar(p.temporality);
      a.appendBigInt(p.startNs);
      a.appendBigInt(p.timeNs);
      a.appendDouble(p.value);
      if ('increment' in p) a.appendDouble(p.increment);
      a.endRow();
    }
  });
}

/** The SQL way's points, into its temporary batch table. */
export const appendSlow = (connection: DuckDBConnection, points: WritePlan['slowPoints']): Promise<void> =>
  appendPoints(connection, points, true);

const timestamp = (ms: number): DuckDBTimestampValue => new DuckDBTimestampValue(BigInt(ms) * 1000n);

function appendRawRows(connection: DuckDBConnection, rows: readonly RawRow[]): Promise<void> {
  return withAppender(connection, 'telemetry_raw', false, (a) => {
    for (const r of rows) {
      a.appendTimestamp(timestamp(r.minuteMs));
      a.appendVarchar(r.series.tenantId);
      a.appendVarchar(r.series.resourceId);
      a.appendVarchar(r.series.metric);
      appendLabels(a, r.series.labels);
      a.appendDouble(r.value);
      a.endRow();
    }
  });
}

/** The fast way: points and rows appended (a series' latest stored row replaced when a point adds to its minute). */
export async function appendFast(connection: DuckDBConnection, plan: WritePlan, watermarkMs: number): Promise<void> {
  await appendPoints(connection, plan.fastPoints, false);
  const replaced = plan.fastRows.filter((r) => r.replaces);
  if (replaced.length > 0) {
    await connection.run(SQL.REPLACED_DDL);
    await withAppender(connection, 'ingest_replaced', true, (a) => {
      for (const r of replaced) {
        a.appendInteger(r.series.id);
        a.appendTimestamp(timestamp(r.minuteMs));
        a.endRow();
      }
    });
    await connection.run(SQL.DELETE_REPLACED_RAW_SQL, [replaced.reduce((lo, r) => Math.min(lo, r.minuteMs), Number.POSITIVE_INFINITY)]);
  }
  // In time order, as the SQL way inserts: reads prune the time-ordered table by its row groups' ranges.
  await appendRawRows(
    connection,
    [...plan.fastRows].sort((a, b) => a.minuteMs - b.minuteMs),
  );
  await markLate(connection, plan.fastRows, watermarkMs);
}

/** Minutes the fast way wrote below a rollup's watermark: their buckets are rebuilt (see duckdb-point-sql.ts MARK_LATE_SQL). */
async function markLate(connection: DuckDBConnection, rows: readonly RawRow[], watermarkMs: number): Promise<void> {
  const minutes = [...new Set(rows.filter((r) => r.minuteMs < watermarkMs).map((r) => r.minuteMs))];
  if (minutes.length === 0) return;
  await connection.run(
    `INSERT INTO ingest_late SELECT unnest([${minutes.map(() => 'CAST(? AS BIGINT)').join(', ')}]) ON CONFLICT DO NOTHING`,
    minutes,
  );
}

/** Heads the fast way moved, to ingest_series (the writer's checkpoint of its in-memory heads). */
export async function storeHeads(connection: DuckDBConnection, entries: Iterable<SeriesEntry>): Promise<void> {
  await connection.run(SQL.FAST_HEADS_DDL);
  await withAppender(connection, 'ingest_fast_heads', true, (a) => {
    for (const { id, head } of entries) {
      if (!head) continue;
      a.appendInteger(id);
      a.appendBigInt(head.timeNs);
      a.appendDouble(head.minuteValue);
      appendNullable(a, head.cumStartNs, (v) => a.appendBigInt(v));
      appendNullable(a, head.cumTimeNs, (v) => a.appendBigInt(v));
      appendNullable(a, head.cumValue, (v) => a.appendDouble(v));
      a.endRow();
    }
  });
  await connection.run(SQL.UPDATE_FAST_HEADS_SQL);
}
