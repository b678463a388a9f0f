import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import type { IngestPoint } from '../../ingest/ingest-point.ts';
import type { GroupPointWriter, LateMinutes, PointWrite, WriteResult } from '../../ingest/point-writer.ts';
import type { TenantScope } from '../../planner/query.ts';
import * as SQL from './duckdb-point-sql.ts';
import { migratePoints } from './duckdb-point-migration.ts';
import { inTransaction } from './in-transaction.ts';
import { appendFast, appendNewSeries, appendSlow, storeHeads } from './point-appenders.ts';
import { planPointWrite, type WritePlan } from './point-write-plan.ts';
import { type SeriesEntry, type SeriesHead, headOf, SeriesTable } from './series-table.ts';

export interface PointWriterOptions {
  /** Series one tenant may have stored (STRATA_OTLP_MAX_SERIES_PER_TENANT); points of more new ones are refused. Unbounded by default. */
  readonly maxSeriesPerTenant?: number;
}

/** How often, at most, the heads the fast way moved are written to ingest_series (a restart finds later ones from the points). */
const HEADS_CHECKPOINT_MS = 30_000;

/**
 * The embedded store's write path for received telemetry: one transaction
 * per group of writes that stores the points (a repeat is a no-op), derives
 * the raw rows of exactly the series and minutes it touched, replaces those
 * rows of telemetry_raw, and commits before it resolves. So raw data is a
 * function of the set of points received, whatever their order and however
 * often a sender retried (ingest/derive-raw-rows.ts is the rule).
 *
 * A series' points that all come after its head are planned in memory and
 * appended (point-write-plan.ts); the others go through SQL that reads the
 * stored points they need (duckdb-point-sql.ts). The writer keeps every
 * series' head in memory, so it must be the store's only point writer, one
 * write at a time (the app wraps it in ingest/bounded-point-writer.ts).
 * The heads it moves go to ingest_series at a checkpoint (before the SQL
 * way, which reads them there, and every HEADS_CHECKPOINT_MS), not in each
 * write: a write then costs about its appends. A writer that opens finds
 * the heads of points after the last checkpoint from the points themselves.
 */
export class DuckDbPointWriter implements GroupPointWriter, LateMinutes {
  /** Series whose head the fast way moved since the last checkpoint. */
  private readonly moved = new Set<SeriesEntry>();
  private checkpointedAt = Date.now();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly series: SeriesTable,
    private readonly options: PointWriterOptions,
  ) {}

  /** Over the store's own DuckDB instance (the same file and transactions as its reads and rollup builds). */
  static async open(instance: DuckDBInstance, options: PointWriterOptions = {}): Promise<DuckDbPointWriter> {
    const connection = await instance.connect();
    try {
      await connection.run(SQL.SERIES_DDL);
      await migratePoints(connection);
      await connection.run(SQL.POINTS_DDL);
      await connection.run(SQL.LATE_DDL);
      await recoverHeads(connection);
      return new DuckDbPointWriter(instance, await SeriesTable.load(connection, LABEL_COLUMNS), options);
    } finally {
      connection.closeSync();
    }
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
      const { tenants, watermarkMs } = await registry(connection, writes);
      const plan = planPointWrite(writes, tenants, this.series, this.options.maxSeriesPerTenant);
      const checkpoint = plan.slowPoints.length > 0 || Date.now() - this.checkpointedAt > HEADS_CHECKPOINT_MS ? [...this.moved] : [];
      const slowHeads = await inTransaction(connection, async () => {
        if (checkpoint.length > 0) await storeHeads(connection, checkpoint);
        return this.transact(connection, plan, watermarkMs);
      });
      if (checkpoint.length > 0) this.checkpointed(checkpoint);
      this.remember(plan, slowHeads);
      return plan.results;
    } finally {
      connection.closeSync();
    }
  }

  /** The plan's statements (`watermarkMs`: the highest rollup watermark, below which minutes are late); returns the heads the SQL way left its series with. */
  private async transact(connection: DuckDBConnection, plan: WritePlan, watermarkMs: number): Promise<Map<number, SeriesHead | null>> {
    if (plan.newSeries.length > 0) await appendNewSeries(connection, plan.newSeries);
    if (plan.fastPoints.length > 0) await appendFast(connection, plan, watermarkMs);
    return plan.slowPoints.length > 0 ? this.slowWay(connection, plan) : new Map();
  }

  private checkpointed(entries: readonly SeriesEntry[]): void {
    for (const entry of entries) this.moved.delete(entry);
    this.checkpointedAt = Date.now();
  }

  /** After the commit: the new series, and every written series' head, to the in-memory index. */
  private remember(plan: WritePlan, slowHeads: ReadonlyMap<number, SeriesHead | null>): void {
    for (const entry of plan.newSeries) this.series.add(entry);
    for (const [entry, head] of plan.fastHeads) {
      entry.head = head;
      this.moved.add(entry);
    }
    for (const entry of plan.slowSeries) {
      const head = slowHeads.get(entry.id);
      if (head !== undefined) entry.head = head;
    }
  }

  private async slowWay(connection: DuckDBConnection, plan: WritePlan): Promise<Map<number, SeriesHead | null>> {
    await connection.run(SQL.BATCH_DDL);
    await appendSlow(connection, plan.slowPoints);
    const range = await first(connection, SQL.BATCH_RANGE_SQL);
    const lo = BigInt(range['lo'] as bigint);
    const bounds = [lo, BigInt(range['hi'] as bigint)];
    await connection.run(SQL.NEW_SQL, bounds);
    const fresh = await first(connection, SQL.NEW_COUNT_SQL);
    if (Number(fresh['n']) === 0) return new Map(); // repeats: everything is stored already
    if (Number(fresh['replaced']) > 0) await connection.run(SQL.DROP_REPLACED_SQL, bounds);
    await storeNew(connection, lo);
    await rederive(connection);
    await connection.run(SQL.UPDATE_HEADS_SQL);
    const rows = (await connection.runAndReadAll(SQL.HEADS_OF_NEW_SQL)).getRowObjectsJS();
    return new Map(rows.map((row) => [Number(row['series_id']), headOf(row)]));
  }
}

/** Heads of points written after the last checkpoint (or of a migrated file), from the points, in one transaction. */
function recoverHeads(connection: DuckDBConnection): Promise<void> {
  return inTransaction(connection, async () => {
    await connection.run(SQL.RECOVERED_HEADS_SQL);
    await connection.run(SQL.UPDATE_RECOVERED_HEADS_SQL);
  });
}

/**
 * The registry's tenant of each cluster the writes name, and the highest
 * rollup watermark (minutes below it are late). Read before the write's
 * transaction, which is safe because no build runs between this read and
 * the commit: builds run in the writes' queue (LateData.whileNoWrites).
 */
async function registry(
  connection: DuckDBConnection,
  writes: readonly PointWrite[],
): Promise<{ tenants: Map<string, string>; watermarkMs: number }> {
  const clusters = new Set<string>();
  for (const w of writes) for (const p of w.points) clusters.add(p.resourceId);
  const list = [...clusters];
  const rows = (
    await connection.runAndReadAll(
      `SELECT resource_id, tenant_id, (SELECT coalesce(max(watermark_ms), 0) FROM strata_watermarks) AS watermark_ms
       FROM (SELECT NULL AS resource_id, NULL AS tenant_id UNION ALL SELECT resource_id, tenant_id FROM resources
             WHERE resource_id IN (${list.map(() => '?').join(', ')}))`,
      list,
    )
  ).getRowObjectsJS();
  const tenants = new Map<string, string>();
  for (const r of rows) if (r['resource_id'] !== null) tenants.set(String(r['resource_id']), String(r['tenant_id']));
  return { tenants, watermarkMs: Number(rows[0]?.['watermark_ms'] ?? 0) };
}

/** The new points with their increments, and the stored ones they re-count. */
async function storeNew(connection: DuckDBConnection, lo: bigint): Promise<void> {
  await connection.run(SQL.RUNS_SQL);
  const searches = await first(connection, 'SELECT count(*) FILTER (WHERE search) AS n FROM ingest_new_runs');
  await connection.run(Number(searches['n']) > 0 ? SQL.SEARCH_PREVIOUS_SQL : SQL.NO_SEARCH_SQL);
  await connection.run(SQL.INCREMENTS_SQL, [lo]);
  await connection.run(SQL.STORE_POINTS_SQL);
  if (Number(searches['n']) > 0) await connection.run(SQL.UPDATE_STORED_SQL, [lo]);
}

/** The raw rows of the touched series-minutes, replaced, and the late ones marked for the aggregator. */
async function rederive(connection: DuckDBConnection): Promise<void> {
  await connection.run(SQL.TOUCHED_SQL);
  const touched = await first(connection, SQL.TOUCHED_RANGE_SQL);
  await connection.run(SQL.DERIVED_SQL, [BigInt(touched['lo'] as bigint), BigInt(touched['hi'] as bigint)]);
  const derived = await first(connection, SQL.DERIVED_RANGE_SQL);
  if (Number(derived['n']) === 0) return;
  await connection.run(SQL.DELETE_RAW_SQL, [Number(derived['lo']), Number(derived['hi'])]);
  await connection.run(SQL.INSERT_RAW_SQL);
  await connection.run(SQL.MARK_LATE_SQL);
}

async function first(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  return ((await connection.runAndReadAll(sql)).getRowObjectsJS()[0] ?? {}) as Record<string, unknown>;
}
