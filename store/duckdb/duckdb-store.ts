import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CATALOG, rollupNamed, usageRollup, zeroWatermarks, type Catalog, type RollupName } from '../../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';
import type { Interval, PartialRow, TenantScope } from '../../planner/query.ts';
import type { MetricStore, ResourceRow, StoreRequest, UsageRequest, UsageRow } from '../metric-store.ts';
import { branchesOf, distributeColumns } from '../piece-batch.ts';
import { piecesSql, quote, sqlText, tenantCondition } from './duckdb-sql.ts';
import { sql } from '../sql-fragment.ts';
import { rollupStatements, schemaDdl } from './duckdb-schema.ts';
import { migrateLabels } from './duckdb-label-migration.ts';
import { inTransaction } from './in-transaction.ts';
import { ReadConnections, type ReadStats } from './read-connections.ts';
import { usageSql } from './duckdb-usage.ts';
import { seedStatements, type SeedOptions } from './seed-dataset.ts';

type Row = Record<string, unknown>;

/**
 * The embedded store: a DuckDB file (or memory). Every read is one
 * parameterized statement on a connection of its own while it runs, so
 * concurrent queries run in parallel inside DuckDB, and an AbortSignal
 * interrupts exactly that query; connections and their prepared statements
 * are kept for the next reads (read-connections.ts).
 */
export class DuckDbStore implements MetricStore {
  readonly name = 'duckdb';
  private readonly reads: ReadConnections;
  private readonly checkpoints = { done: 0, skipped: 0 };

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Whose rollups its tables hold. */
    readonly catalog: Catalog,
  ) {
    this.reads = new ReadConnections(instance);
  }

  /** Opens (or creates) the file, with a table per rollup of the catalog. */
  static async open(path: string, catalog: Catalog = CATALOG): Promise<DuckDbStore> {
    const instance = await DuckDBInstance.create(path);
    const store = new DuckDbStore(instance, catalog);
    // First: a file written before a label was added to the registry gains its column (duckdb-label-migration.ts).
    await migrateLabels(instance, catalog);
    for (const ddl of schemaDdl(catalog)) await store.exec(ddl, []);
    return store;
  }

  /**
   * Bounds what DuckDB keeps resident. memory_limit caps its buffer pool
   * (default: 80 % of the machine's RAM). Its allocator (jemalloc on Linux)
   * otherwise keeps up to 128 MiB freed after each task before returning it.
   * Each worker thread holds its own operator state and allocator cache
   * while queries run: fewer threads, less memory at a burst of queries.
   * At most `readsAtOnce` reads hold a connection (the others wait): each
   * connection keeps its prepared statements, about 4 MB of plans for a
   * dashboard mix of 33 statement shapes.
   */
  async limitResources(limits: {
    readonly memoryBytes: number;
    readonly threads?: number | undefined;
    readonly readsAtOnce?: number | undefined;
  }): Promise<void> {
    const mb = Math.max(1, Math.floor(limits.memoryBytes / 1024 / 1024));
    await this.exec(`SET GLOBAL memory_limit = '${mb}MB'`, []);
    await this.exec(`SET GLOBAL allocator_flush_threshold = '${Math.max(1, Math.floor(mb / 8))}MB'`, []);
    await this.exec('SET GLOBAL allocator_background_threads = true', []);
    if (limits.threads !== undefined) await this.exec(`SET GLOBAL threads = ${Math.max(1, Math.floor(limits.threads))}`, []);
    if (limits.readsAtOnce !== undefined) this.reads.limit(limits.readsAtOnce);
  }

  /** The instance, for writers with connections of their own (duckdb-point-writer.ts). */
  get duckdb(): DuckDBInstance {
    return this.instance;
  }

  /** Read connections: idle, ever opened, reads waiting for one; statements held and ever prepared. */
  get readStats(): ReadStats {
    return this.reads.stats;
  }

  async queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>> {
    const branches = branchesOf(request.pieces);
    if (branches.length === 0) return new Map();
    const { sql, params } = piecesSql(branches);
    return distributeColumns(branches, await this.readColumns(sql, params, request.signal));
  }

  async listResources(scope: TenantScope): Promise<ResourceRow[]> {
    const query = sqlText(
      sql`SELECT tenant_id, resource_id FROM resources WHERE ${tenantCondition(scope)} ORDER BY tenant_id, resource_id`,
    );
    const rows = await this.read(query.sql, query.params);
    return rows.map((r) => ({ tenantId: String(r['tenant_id']), resourceId: String(r['resource_id']) }));
  }

  async usage(request: UsageRequest): Promise<UsageRow[]> {
    const { sql, params } = usageSql(request, usageRollup(this.catalog).name);
    const rows = await this.read(sql, params, request.signal);
    const big = (v: unknown): bigint => BigInt(v === null || v === undefined ? 0 : String(v));
    return rows.map((r) => ({
      tenantId: String(r['tenant_id']),
      resourceId: String(r['resource_id']),
      day: Number(r['day']),
      ingressBytes: big(r['ingress']),
      egressBytes: big(r['egress']),
      storageByteMinutes: big(r['storage']),
      partitionMinutes: big(r['partitions']),
    }));
  }

  async readWatermarks(): Promise<Record<RollupName, number>> {
    const rows = await this.read('SELECT datasource, watermark_ms FROM strata_watermarks', []);
    const marks = zeroWatermarks(this.catalog);
    for (const r of rows) {
      const name = String(r['datasource']);
      if (name in marks) marks[name] = Number(r['watermark_ms']);
    }
    return marks;
  }

  async rawDataRange(): Promise<Interval | undefined> {
    const rows = await this.read(
      'SELECT CAST(epoch_ms(min(__time)) AS BIGINT) AS s, CAST(epoch_ms(max(__time)) AS BIGINT) AS e FROM telemetry_raw',
      [],
    );
    const start = rows[0]?.['s'];
    const end = rows[0]?.['e'];
    return start === null || start === undefined ? undefined : { start: Number(start), end: Number(end) + 60_000 };
  }

  async buildRollup(name: RollupName, interval: Interval): Promise<{ tenants: string[]; metrics: string[] }> {
    const rollup = rollupNamed(this.catalog, name);
    const connection = await this.instance.connect();
    try {
      const touched = await inTransaction(connection, async () => {
        for (const s of rollupStatements(rollup, interval)) await connection.run(s.sql, s.params);
        // The watermark only moves forward, and only over a contiguous interval.
        await connection.run(
          `INSERT INTO strata_watermarks VALUES (?, CAST(? AS BIGINT)) ON CONFLICT (datasource) DO UPDATE
           SET watermark_ms = CASE WHEN strata_watermarks.watermark_ms >= CAST(? AS BIGINT) THEN greatest(strata_watermarks.watermark_ms, excluded.watermark_ms) ELSE strata_watermarks.watermark_ms END`,
          [name, interval.end, interval.start],
        );
        return connection.runAndReadAll(
          `SELECT DISTINCT tenant_id, metric FROM ${quote(rollup.name)} WHERE __time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))`,
          [interval.start, interval.end],
        );
      });
      await this.foldIntoFile(connection);
      const rows = touched.getRowObjectsJS() as Row[];
      return { tenants: unique(rows.map((r) => String(r['tenant_id']))), metrics: unique(rows.map((r) => String(r['metric']))) };
    } finally {
      connection.closeSync();
    }
  }

  /** Writes a synthetic dataset (raw rows and resources) into this store. */
  async seed(options: SeedOptions): Promise<void> {
    const connection = await this.instance.connect();
    try {
      for (const sql of seedStatements(options)) await connection.run(sql);
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Folds a rebuilt rollup from the write-ahead log into the file at once.
   * Until a checkpoint, DuckDB holds the rebuilt rows, and the deletions of
   * the rows they replace, in memory besides the WAL; its own checkpoint
   * waits for 16 MB of WAL, so rebuilds every few seconds kept 12–13 MB of
   * a 32 MB memory limit. A checkpoint is refused
   * while another write transaction runs (reads do not stop it): the next
   * rebuild, or DuckDB's own threshold, folds what is left.
   */
  private async foldIntoFile(connection: DuckDBConnection): Promise<void> {
    try {
      await connection.run('CHECKPOINT');
      this.checkpoints.done += 1;
    } catch {
      this.checkpoints.skipped += 1;
    }
  }

  /** Checkpoints after rollup rebuilds: done, and refused because another write ran. */
  get checkpointStats(): { done: number; skipped: number } {
    return { ...this.checkpoints };
  }

  /** Sets a watermark directly: used when seeding rollups that were built in one go. */
  async setWatermark(name: RollupName, watermark: number): Promise<void> {
    await this.exec('INSERT OR REPLACE INTO strata_watermarks VALUES (?, CAST(? AS BIGINT))', [name, watermark]);
  }

  async exec(sql: string, params: (string | number)[]): Promise<void> {
    const connection = await this.instance.connect();
    try {
      await connection.run(sql, params);
    } finally {
      connection.closeSync();
    }
  }

  async ping(): Promise<void> {
    await this.read('SELECT 1', []);
  }

  /**
   * Folds the write-ahead log into the file before closing, so that a stopped
   * store's file is whole on its own (copied or backed up without its .wal).
   */
  async close(): Promise<void> {
    this.reads.close();
    await this.exec('CHECKPOINT', []).catch(() => undefined);
    this.instance.closeSync();
  }

  /** Runs one read; an abort interrupts it and surfaces as UPSTREAM_TIMEOUT. */
  async read(sql: string, params: (string | number)[], signal?: AbortSignal): Promise<Row[]> {
    return rowsOf(await this.readColumns(sql, params, signal));
  }

  /** The same read, column by column (what DuckDB hands over without building a row object per row). */
  async readColumns(sql: string, params: (string | number)[], signal?: AbortSignal): Promise<Record<string, unknown[]>> {
    if (signal?.aborted) throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The query was cancelled before it reached the store.');
    try {
      /*
       * The columns are converted before the connection goes back. Released
       * first, the next read ran while this one was converted, and at a
       * minute boundary's burst of reads their native results (freed only
       * when V8 finalizes them) piled up: RSS peaks of 280–295 MB against 249.
       */
      return await this.reads.use(async (pooled) => {
        const onAbort = (): void => pooled.connection.interrupt();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          const statement = await pooled.prepared(sql);
          // Aborted while the statement was prepared: the interrupt found no query running, so the query must not start.
          signal?.throwIfAborted();
          statement.bind(params);
          return (await statement.runAndReadAll()).getColumnsObjectJS() as Record<string, unknown[]>;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      }, signal);
    } catch (error) {
      if (signal?.aborted)
        throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled (deadline passed or client went away).');
      throw outOfMemory(error) ?? error;
    }
  }
}

/**
 * DuckDB's memory limit is shared by every query at once: a query that finds
 * it full is a store that is out of capacity for now (retryable, counted as a
 * store failure), not an unknown error.
 */
function outOfMemory(error: unknown): StrataError | undefined {
  if (!(error instanceof Error) || !error.message.startsWith('Out of Memory Error')) return undefined;
  const refusal = new StrataError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    'The embedded store had no memory left for this query (its limit is STRATA_DUCKDB_MEMORY_MB, shared by all queries). Retry, or ask for a shorter interval or fewer fields at once.',
    { retryAfterSeconds: 1 },
  );
  // DuckDB's own words stay on the error for the log and the start-up message, not for the client.
  return Object.assign(refusal, { cause: error });
}

const unique = (values: string[]): string[] => [...new Set(values)].sort();

/**
 * Row objects from a columnar result: the reader's own getRowObjectsJS
 * converts value by value through generic visitors, about four times slower
 * than converting whole columns (7.7 ms against 2 ms for a 4,320-row answer).
 */
function rowsOf(columns: Record<string, unknown[]>): Row[] {
  const names = Object.keys(columns);
  const count = columns[names[0] ?? '']?.length ?? 0;
  const rows: Row[] = new Array<Row>(count);
  for (let i = 0; i < count; i++) {
    const row: Row = {};
    for (const name of names) row[name] = columns[name]?.[i];
    rows[i] = row;
  }
  return rows;
}
