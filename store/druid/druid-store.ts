import { L } from 'druid-query-toolkit';
import { CATALOG, rollupNamed, rollupNames, usageRollup, zeroWatermarks, type Catalog, type RollupName } from '../../catalog/catalog.ts';
import type { Interval, PartialRow, TenantScope } from '../../planner/query.ts';
import type { MetricStore, ResourceRow, StoreRequest, UsageRequest, UsageRow } from '../metric-store.ts';
import { branchesOf, distributeRows } from '../piece-batch.ts';
import { DruidClient, type DruidClientOptions, type DruidParam } from './druid-client.ts';
import { col, piecesSql, resourcesSql, rollupMsqStatement, table, touchedSql, usageSqls } from './druid-sql.ts';

export interface DruidStoreOptions extends DruidClientOptions {
  /** How long to wait for an MSQ task and for its segments to become queryable. */
  readonly ingestTimeoutMs?: number;
  /** Whose rollups its datasources hold (default: the service catalog). */
  readonly catalog?: Catalog;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The production store: Apache Druid over its SQL HTTP API. Reads are plain SQL
 * with dynamic parameters; rollup builds and loads are MSQ tasks, resolved only
 * once their segments are queryable.
 *
 * Datasources: telemetry_raw, one per rollup of the catalog (partitioned by
 * its bucket, so one bucket can be replaced: rollup_1h in HOUR segments,
 * rollup_1d in DAY), resources and strata_watermarks (one segment each, at
 * epoch 0), with the columns of duckdb-schema.ts.
 */
export class DruidStore implements MetricStore {
  readonly name = 'druid';
  readonly client: DruidClient;
  readonly catalog: Catalog;
  private readonly ingestTimeoutMs: number;

  constructor(options: DruidStoreOptions) {
    this.client = new DruidClient(options);
    this.ingestTimeoutMs = options.ingestTimeoutMs ?? 180_000;
    this.catalog = options.catalog ?? CATALOG;
  }

  /** All branches in one UNION ALL query (one round trip); rows are handed back to pieces by branch and bucket. */
  async queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>> {
    const branches = branchesOf(request.pieces);
    if (branches.length === 0) return new Map();
    const { sql, params } = piecesSql(branches);
    return distributeRows(branches, await this.client.sql(sql, params, { signal: request.signal, lane: request.lane }), {
      emptyLabelIsAbsent: true,
    });
  }

  async listResources(scope: TenantScope): Promise<ResourceRow[]> {
    const { sql, params } = resourcesSql(scope);
    const rows = await this.client.sql(sql, params);
    return rows
      .map((r) => ({ tenantId: String(r['tenant_id']), resourceId: String(r['resource_id']) }))
      .sort((a, b) => cmp(a.tenantId, b.tenantId) || cmp(a.resourceId, b.resourceId));
  }

  async usage(request: UsageRequest): Promise<UsageRow[]> {
    const parts = await Promise.all(
      usageSqls(request, usageRollup(this.catalog).name).map((q) =>
        this.client.sql(q.sql, q.params, { signal: request.signal, lane: 'billing' }),
      ),
    );
    const merged = new Map<string, { tenantId: string; resourceId: string; day: number; sums: [bigint, bigint, bigint, bigint] }>();
    const big = (v: unknown): bigint => (v === null || v === undefined || v === '' ? 0n : BigInt(String(v)));
    for (const row of parts.flat()) {
      const tenantId = String(row['tenant_id']);
      const resourceId = String(row['resource_id']);
      const day = Number(row['day']);
      const key = `${day}\u0000${tenantId}\u0000${resourceId}`;
      const entry = merged.get(key) ?? { tenantId, resourceId, day, sums: [0n, 0n, 0n, 0n] };
      entry.sums = [
        entry.sums[0] + big(row['ingress']),
        entry.sums[1] + big(row['egress']),
        entry.sums[2] + big(row['storage']),
        entry.sums[3] + big(row['partitions']),
      ];
      merged.set(key, entry);
    }
    return [...merged.values()]
      .sort((a, b) => a.day - b.day || cmp(a.tenantId, b.tenantId) || cmp(a.resourceId, b.resourceId))
      .map((e) => ({
        tenantId: e.tenantId,
        resourceId: e.resourceId,
        day: e.day,
        ingressBytes: e.sums[0],
        egressBytes: e.sums[1],
        storageByteMinutes: e.sums[2],
        partitionMinutes: e.sums[3],
      }));
  }

  async readWatermarks(): Promise<Record<RollupName, number>> {
    const rows = await this.client.sql(
      `SELECT ${col('datasource')}, MAX(${col('watermark_ms')}) AS "w" FROM ${table('strata_watermarks')} GROUP BY 1`,
      [],
    );
    const marks = zeroWatermarks(this.catalog);
    for (const r of rows) {
      const name = String(r['datasource']);
      if (name in marks) marks[name] = Number(r['w']);
    }
    return marks;
  }

  async rawDataRange(): Promise<Interval | undefined> {
    const rows = await this.client.sql(
      `SELECT COUNT(*) AS "n", MIN(TIMESTAMP_TO_MILLIS(${col('__time')})) AS "s", MAX(TIMESTAMP_TO_MILLIS(${col('__time')})) AS "e" FROM ${table('telemetry_raw')}`,
      [],
    );
    const row = rows[0];
    if (!row || Number(row['n']) === 0) return undefined;
    return { start: Number(row['s']), end: Number(row['e']) + 60_000 };
  }

  async buildRollup(name: RollupName, interval: Interval): Promise<{ tenants: string[]; metrics: string[] }> {
    const rollup = rollupNamed(this.catalog, name);
    // One REPLACE of the interval computes every (metric, level) of the rollup.
    const statement = rollupMsqStatement(rollup, interval);
    await this.runTask(statement.sql, statement.params);
    await this.waitLoaded(name);
    // The watermark only moves forward, and only over a contiguous interval.
    const marks = await this.readWatermarks();
    const mark = marks[name] ?? 0;
    if (mark >= interval.start) marks[name] = Math.max(mark, interval.end);
    await this.writeWatermarks(marks);
    const touched = touchedSql(name, interval);
    const rows = await this.client.sql(touched.sql, touched.params);
    return { tenants: unique(rows.map((r) => String(r['tenant_id']))), metrics: unique(rows.map((r) => String(r['metric']))) };
  }

  /** Replaces the whole strata_watermarks datasource with these values. */
  async writeWatermarks(marks: Record<RollupName, number>): Promise<void> {
    const data = Object.entries(marks)
      .map(([datasource, watermark]) => JSON.stringify({ datasource, watermark_ms: watermark }))
      .join('\n');
    await this.ingest(
      'strata_watermarks',
      `REPLACE INTO ${table('strata_watermarks')} OVERWRITE ALL
SELECT MILLIS_TO_TIMESTAMP(0) AS ${col('__time')}, ${col('datasource')}, ${col('watermark_ms')}
FROM TABLE(EXTERN(${L(JSON.stringify({ type: 'inline', data }))}, ${L('{"type":"json"}')}, ${L(
        JSON.stringify([
          { name: 'datasource', type: 'string' },
          { name: 'watermark_ms', type: 'long' },
        ]),
      )}))
PARTITIONED BY ALL`,
    );
    // loadstatus can reach 100 before the broker swaps segments: wait until the values read back.
    const deadline = Date.now() + this.ingestTimeoutMs;
    for (;;) {
      const seen = await this.readWatermarks().catch(() => undefined);
      if (seen && Object.entries(marks).every(([name, mark]) => seen[name] === mark)) return;
      if (Date.now() > deadline) throw new Error('watermarks not visible in Druid in time');
      await sleep(200);
    }
  }

  /** Runs one MSQ statement and waits until its datasource is fully loaded. */
  async ingest(datasource: string, sql: string, params: DruidParam[] = []): Promise<void> {
    await this.runTask(sql, params);
    await this.waitLoaded(datasource);
  }

  /** Submits an MSQ task to the broker and polls the overlord until it succeeds (or throws). */
  async runTask(sql: string, params: DruidParam[]): Promise<string> {
    const submit = await this.client.http('POST', `${this.client.url}/druid/v2/sql/task`, {
      query: sql,
      parameters: params,
      context: { maxNumTasks: 2, finalizeAggregations: true },
    });
    const taskId = (submit.json as { taskId?: string } | undefined)?.taskId;
    if (submit.status !== 202 || !taskId) throw new Error(`Druid MSQ submit failed (HTTP ${submit.status}): ${submit.text.slice(0, 2000)}`);
    const coordinator = this.coordinator();
    const deadline = Date.now() + this.ingestTimeoutMs;
    for (;;) {
      const status = await this.client.http('GET', `${coordinator}/druid/indexer/v1/task/${encodeURIComponent(taskId)}/status`);
      const s = (status.json as { status?: { statusCode?: string; errorMsg?: string } } | undefined)?.status;
      if (s?.statusCode === 'SUCCESS') return taskId;
      if (s?.statusCode === 'FAILED') throw new Error(`Druid MSQ task ${taskId} failed: ${s.errorMsg ?? status.text}`);
      if (Date.now() > deadline) throw new Error(`Druid MSQ task ${taskId} not done in time: ${status.text}`);
      await sleep(250);
    }
  }

  /** Polls the coordinator's loadstatus (all time) until the datasource is 100% loaded. */
  async waitLoaded(datasource: string): Promise<void> {
    const deadline = Date.now() + this.ingestTimeoutMs;
    const url = `${this.coordinator()}/druid/coordinator/v1/datasources/${encodeURIComponent(datasource)}/loadstatus?forceMetadataRefresh=true&interval=1970-01-01/2100-01-01`;
    for (;;) {
      const load = await this.client.http('GET', url);
      if (load.status === 200 && (load.json as Record<string, number> | undefined)?.[datasource] === 100) return;
      if (Date.now() > deadline) throw new Error(`Druid datasource ${datasource} not loaded in time: ${load.status} ${load.text}`);
      await sleep(250);
    }
  }

  async ping(): Promise<void> {
    await this.client.sql('SELECT 1 AS "one"', [], { timeoutMs: 5_000 });
  }

  /**
   * Start-up check for a server on Druid: the broker answers, the overlord
   * answers (the aggregator's MSQ tasks go there) and Strata's datasources are
   * there. Resolves to undefined when all is well, else to one sentence
   * saying what is wrong and what to do.
   */
  async whyNotServing(): Promise<string | undefined> {
    try {
      await this.ping();
    } catch (error) {
      return `Druid is not answering at DRUID_URL=${this.client.url} (${describe(error)}). Start it (scripts/druid.sh start) or fix DRUID_URL.`;
    }
    if (!this.client.coordinatorUrl)
      return 'DRUID_COORDINATOR_URL is not set: the aggregator submits MSQ tasks to the overlord there (e.g. http://127.0.0.1:8081).';
    const health = await this.client.http('GET', `${this.client.coordinatorUrl}/status/health`).catch((error: unknown) => error);
    if (health instanceof Error || (health as { status: number }).status !== 200) {
      return `The Druid overlord is not answering at DRUID_COORDINATOR_URL=${this.client.coordinatorUrl} (${describe(health)}). Fix DRUID_COORDINATOR_URL.`;
    }
    const rows = await this.client.sql(`SELECT "TABLE_NAME" AS "t" FROM "INFORMATION_SCHEMA"."TABLES" WHERE "TABLE_SCHEMA" = 'druid'`, [], {
      timeoutMs: 5_000,
    });
    const present = new Set(rows.map((r) => String(r['t'])));
    const missing = strataDatasources(this.catalog).filter((d) => !present.has(d));
    if (missing.length > 0) {
      return `Druid at ${this.client.url} lacks the datasources ${missing.join(', ')}. Load data first: npx tsx scripts/druid/load.ts --db FILE (a DuckDB file made by npm run seed).`;
    }
    return undefined;
  }

  async close(): Promise<void> {
    // Stateless HTTP: nothing to release.
  }

  private coordinator(): string {
    if (!this.client.coordinatorUrl) throw new Error('DruidStore needs coordinatorUrl for MSQ tasks');
    return this.client.coordinatorUrl;
  }
}

/** What a Strata deployment on Druid reads and writes. */
export const strataDatasources = (catalog: Catalog): string[] => [
  'telemetry_raw',
  ...rollupNames(catalog),
  'resources',
  'strata_watermarks',
];

/** An error and its causes in one line (fetch hides ECONNREFUSED two causes down). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return `HTTP ${(error as { status?: number }).status ?? '?'}`;
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const unique = (values: string[]): string[] => [...new Set(values)].sort();
