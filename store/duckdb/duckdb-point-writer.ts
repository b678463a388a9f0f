import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import { type IngestPoint, seriesKey } from '../../ingest/ingest-point.ts';
import type { GroupPointWriter, LateMinutes, PointWrite, WriteResult } from '../../ingest/point-writer.ts';
import type { TenantScope } from '../../planner/query.ts';
import * as SQL from './duckdb-point-sql.ts';
import { migratePoints } from './duckdb-point-migration.ts';

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
export class DuckDbPointWriter implements GroupPointWriter, LateMinutes {
  private constructor(private readonly instance: DuckDBInstance) {}

  /** Over the store's own DuckDB instance (the same file and transactions as its reads and rollup builds). */
  static async open(instance: DuckDBInstance): Promise<DuckDbPointWriter> {
    const connection = await instance.connect();
    try {
      await migratePoints(connection);
      await connection.run(SQL.POINTS_DDL);
      await connection.run(SQL.RUNS_DDL);
      await connection.run(SQL.LATE_DDL);
    } finally {
      connection.closeSync();
    }
    return new DuckDbPointWriter(instance);
  }

  async takeLateMinutes(): Promise<number[]> {
    const connection = await this.instance.connect();
    try {
      const rows = (await connection.runAndReadAll(SQL.TAKE_LATE_SQL)).getRowObjectsJS() as { minute_ms: bigint }[];
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
    const [result] = await this.writeGroup([{ points, scope }]);
    return result ?? { accepted: 0, refused: 0, refusedClusters: [] };
  }

  async writeGroup(writes: readonly PointWrite[]): Promise<WriteResult[]> {
    if (writes.every((w) => w.points.length === 0)) return writes.map(() => ({ accepted: 0, refused: 0, refusedClusters: [] }));
    const connection = await this.instance.connect();
    try {
      await connection.run('BEGIN TRANSACTION');
      const results = await this.transact(connection, writes);
      await connection.run('COMMIT');
      return results;
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.closeSync();
    }
  }

  private async transact(connection: DuckDBConnection, writes: readonly PointWrite[]): Promise<WriteResult[]> {
    await connection.run(SQL.BATCH_DDL);
    await connection.run(SQL.SCOPES_DDL);
    await append(connection, writes);
    const refused = (await connection.runAndReadAll(SQL.REFUSED_SQL)).getRowObjectsJS() as {
      request: number;
      resource_id: string;
      n: bigint;
    }[];
    const results = writes.map((w, i) =>
      resultOf(
        w,
        refused.filter((r) => r.request === i),
      ),
    );
    await connection.run(SQL.ACCEPTED_SQL);
    const range = await first(connection, SQL.ACCEPTED_RANGE_SQL);
    if (Number(range['n']) === 0) return results;
    const lo = BigInt(range['lo'] as bigint);
    const bounds = [lo, BigInt(range['hi'] as bigint)];
    await connection.run(SQL.NEW_SQL, bounds);
    const fresh = await first(connection, SQL.NEW_COUNT_SQL);
    if (Number(fresh['n']) === 0) return results; // repeats: everything is stored already
    if (Number(fresh['replaced']) > 0) await connection.run(SQL.DROP_REPLACED_SQL, bounds);
    await this.storeNew(connection, lo);
    await this.rederive(connection);
    return results;
  }

  /** The new points with their increments, the stored ones they re-count, and the runs' heads. */
  private async storeNew(connection: DuckDBConnection, lo: bigint): Promise<void> {
    await connection.run(SQL.RUNS_SQL);
    const searches = await first(connection, 'SELECT count(*) FILTER (WHERE search) AS n FROM ingest_new_runs');
    await connection.run(Number(searches['n']) > 0 ? SQL.SEARCH_PREVIOUS_SQL : SQL.NO_SEARCH_SQL);
    await connection.run(SQL.INCREMENTS_SQL, [lo]);
    await connection.run(SQL.STORE_POINTS_SQL);
    if (Number(searches['n']) > 0) await connection.run(SQL.UPDATE_STORED_SQL, [lo]);
    await connection.run(SQL.UPDATE_HEADS_SQL);
  }

  /** The raw rows of the touched series-minutes, replaced, and the late ones marked for the aggregator. */
  private async rederive(connection: DuckDBConnection): Promise<void> {
    await connection.run(SQL.TOUCHED_SQL);
    const touched = await first(connection, SQL.TOUCHED_RANGE_SQL);
    await connection.run(SQL.DERIVED_SQL, [BigInt(touched['lo'] as bigint), BigInt(touched['hi'] as bigint)]);
    const derived = await first(connection, SQL.DERIVED_RANGE_SQL);
    if (Number(derived['n']) === 0) return;
    await connection.run(SQL.DELETE_RAW_SQL, [Number(derived['lo']), Number(derived['hi'])]);
    await connection.run(SQL.INSERT_RAW_SQL);
    await connection.run(SQL.MARK_LATE_SQL);
  }
}

function resultOf(write: PointWrite, refused: readonly { resource_id: string; n: bigint }[]): WriteResult {
  const count = refused.reduce((n, r) => n + Number(r.n), 0);
  return { accepted: write.points.length - count, refused: count, refusedClusters: refused.map((r) => r.resource_id) };
}

async function first(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  return ((await connection.runAndReadAll(sql)).getRowObjectsJS()[0] ?? {}) as Record<string, unknown>;
}

/** The writes' points and scopes into the connection's temporary tables, through DuckDB's appender (no SQL text per row). */
async function append(connection: DuckDBConnection, writes: readonly PointWrite[]): Promise<void> {
  const scopes = await connection.createAppender('ingest_scopes', 'main', 'temp');
  const appender = await connection.createAppender('ingest_batch', 'main', 'temp');
  try {
    writes.forEach((write, request) => {
      scopes.appendInteger(request);
      if (write.scope.kind === 'all') scopes.appendNull();
      else scopes.appendVarchar(write.scope.tenantId);
      scopes.endRow();
      for (const p of write.points) appendPoint(appender, request, p);
    });
    scopes.flushSync();
    appender.flushSync();
  } finally {
    scopes.closeSync();
    appender.closeSync();
  }
}

function appendPoint(appender: DuckDBAppender, request: number, p: IngestPoint): void {
  appender.appendInteger(request);
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
