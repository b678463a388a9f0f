import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import { type IngestPoint, seriesKey } from '../../ingest/ingest-point.ts';
import type { LateMinutes, PointWriter, WriteResult } from '../../ingest/point-writer.ts';
import type { TenantScope } from '../../planner/query.ts';
import {
  BATCH_DDL,
  DELETE_RAW_SQL,
  DERIVED_RANGE_SQL,
  DERIVED_SQL,
  INSERT_RAW_SQL,
  LATE_DDL,
  MARK_LATE_SQL,
  TAKE_LATE_SQL,
  POINTS_DDL,
  STORE_POINTS_SQL,
  TOUCHED_SQL,
  acceptedSql,
  refusedSql,
} from './duckdb-point-sql.ts';

/**
 * The embedded store's write path for received telemetry: one transaction
 * per write that stores the points (a repeat is a no-op), derives the raw
 * rows of exactly the series and minutes it touched from every point stored,
 * replaces those rows of telemetry_raw, and commits before it resolves. So
 * raw data is a function of the set of points received, whatever their
 * order and however often a sender retried. One write at a time (the app
 * wraps it in ingest/bounded-point-writer.ts): two write transactions over
 * the same rows would conflict.
 */
export class DuckDbPointWriter implements PointWriter, LateMinutes {
  private constructor(private readonly instance: DuckDBInstance) {}

  /** Over the store's own DuckDB instance (the same file and transactions as its reads and rollup builds). */
  static async open(instance: DuckDBInstance): Promise<DuckDbPointWriter> {
    const connection = await instance.connect();
    try {
      await connection.run(POINTS_DDL);
      await connection.run(LATE_DDL);
    } finally {
      connection.closeSync();
    }
    return new DuckDbPointWriter(instance);
  }

  async takeLateMinutes(): Promise<number[]> {
    const connection = await this.instance.connect();
    try {
      const rows = (await connection.runAndReadAll(TAKE_LATE_SQL)).getRowObjectsJS() as { minute_ms: bigint }[];
      return rows.map((r) => Number(r.minute_ms)).sort((a, b) => a - b);
    } finally {
      connection.closeSync();
    }
  }

  async putBackLateMinutes(minutes: readonly number[]): Promise<void> {
    if (minutes.length === 0) return;
    const connection = await this.instance.connect();
    try {
      await connection.run(`INSERT INTO ingest_late VALUES ${minutes.map(() => '(?)').join(', ')} ON CONFLICT DO NOTHING`, [...minutes]);
    } finally {
      connection.closeSync();
    }
  }

  async write(points: readonly IngestPoint[], scope: TenantScope): Promise<WriteResult> {
    if (points.length === 0) return { accepted: 0, refused: 0, refusedClusters: [] };
    const connection = await this.instance.connect();
    try {
      await connection.run('BEGIN TRANSACTION');
      const result = await this.transact(connection, points, scope);
      await connection.run('COMMIT');
      return result;
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.closeSync();
    }
  }

  private async transact(connection: DuckDBConnection, points: readonly IngestPoint[], scope: TenantScope): Promise<WriteResult> {
    await connection.run(BATCH_DDL);
    await append(connection, points);
    const refusing = refusedSql(scope);
    const refused = await connection.runAndReadAll(refusing.sql, refusing.params);
    const refusedRows = refused.getRowObjectsJS() as { resource_id: string; n: bigint }[];
    const refusedCount = refusedRows.reduce((n, r) => n + Number(r.n), 0);
    const accepted = acceptedSql(scope);
    await connection.run(accepted.sql, accepted.params);
    await connection.run(STORE_POINTS_SQL);
    await connection.run(TOUCHED_SQL);
    await connection.run(DERIVED_SQL);
    const range = (await connection.runAndReadAll(DERIVED_RANGE_SQL)).getRowObjectsJS()[0];
    if (range && Number(range['n']) > 0) {
      await connection.run(DELETE_RAW_SQL, [Number(range['lo']), Number(range['hi'])]);
      await connection.run(INSERT_RAW_SQL);
      await connection.run(MARK_LATE_SQL);
    }
    return { accepted: points.length - refusedCount, refused: refusedCount, refusedClusters: refusedRows.map((r) => r.resource_id) };
  }
}

/** The points into the connection's batch table, through DuckDB's appender (no SQL text per row). */
async function append(connection: DuckDBConnection, points: readonly IngestPoint[]): Promise<void> {
  const appender = await connection.createAppender('ingest_batch', 'main', 'temp');
  try {
    for (const p of points) {
      appender.appendVarchar(seriesKey(p));
      appender.appendVarchar(p.temporality);
      appender.appendBigInt(p.startNs);
      appender.appendBigInt(p.timeNs);
      appender.appendVarchar(p.resourceId);
      appender.appendVarchar(p.metric);
      for (const label of LABEL_COLUMNS) {
        const value = p.labels[label];
        if (value === undefined) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.appendDouble(p.value);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
