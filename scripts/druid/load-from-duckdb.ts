import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { L } from 'druid-query-toolkit';
import { DAY_MS, LABEL_COLUMNS, type Catalog } from '../../catalog/catalog.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { col, table } from '../../store/druid/druid-sql.ts';
import type { DruidStore } from '../../store/druid/druid-store.ts';

type Signature = { name: string; type: 'string' | 'long' | 'double' }[];

const LABELS: Signature = LABEL_COLUMNS.map((name) => ({ name, type: 'string' }));
const ROLLUP_SIGNATURE: Signature = [
  { name: 'ts', type: 'long' },
  { name: 'tenant_id', type: 'string' },
  { name: 'resource_id', type: 'string' },
  { name: 'metric', type: 'string' },
  { name: 'level', type: 'string' },
  ...LABELS,
  { name: 'v_sum', type: 'double' },
  { name: 'v_min', type: 'double' },
  { name: 'v_max', type: 'double' },
  { name: 'v_last', type: 'double' },
  { name: 'minutes', type: 'long' },
  { name: 'samples', type: 'long' },
];

/** What is copied, per table: one per rollup of the store's catalog. */
const datasourcesOf = (catalog: Catalog): { name: string; select: string; signature: Signature; partitioned: string }[] => [
  {
    name: 'telemetry_raw',
    select: `SELECT CAST(epoch_ms(__time) AS BIGINT) AS ts, tenant_id, resource_id, metric, ${LABEL_COLUMNS.map((c) => `"${c}"`).join(', ')}, value FROM telemetry_raw`,
    signature: [
      { name: 'ts', type: 'long' },
      { name: 'tenant_id', type: 'string' },
      { name: 'resource_id', type: 'string' },
      { name: 'metric', type: 'string' },
      ...LABELS,
      { name: 'value', type: 'double' },
    ],
    partitioned: 'DAY',
  },
  ...catalog.rollups.map(({ name, bucketMs }) => ({
    name,
    select: `SELECT CAST(epoch_ms(__time) AS BIGINT) AS ts, tenant_id, resource_id, metric, level, ${LABEL_COLUMNS.map((c) => `"${c}"`).join(', ')},
      v_sum, v_min, v_max, v_last, minutes, samples FROM ${name}`,
    signature: ROLLUP_SIGNATURE,
    // Sub-day rollups in HOUR segments, as buildRollup writes them: it replaces single buckets.
    partitioned: bucketMs >= DAY_MS ? 'DAY' : 'HOUR',
  })),
  {
    name: 'resources',
    select: 'SELECT 0 AS ts, tenant_id, resource_id FROM resources',
    signature: [
      { name: 'ts', type: 'long' },
      { name: 'tenant_id', type: 'string' },
      { name: 'resource_id', type: 'string' },
    ],
    partitioned: 'ALL',
  },
];

/**
 * Copies a seeded DuckDB store into Druid: each table is exported as CSV
 * under a temporary folder and ingested with one MSQ REPLACE ... OVERWRITE ALL from a local
 * input source, then the watermarks. Resolves once every datasource is
 * queryable with the same row count as in DuckDB.
 */
export async function loadDruidFromDuckDb(
  duck: DuckDbStore,
  druid: DruidStore,
): Promise<{ counts: Record<string, number>; timings: Record<string, number> }> {
  // A folder of its own per load (loads may run side by side); Druid's indexer on this host reads it.
  const dir = mkdtempSync(join(tmpdir(), 'strata-druid-load-'));
  try {
    return await loadFrom(dir, duck, druid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadFrom(
  dir: string,
  duck: DuckDbStore,
  druid: DruidStore,
): Promise<{ counts: Record<string, number>; timings: Record<string, number> }> {
  const counts: Record<string, number> = {};
  const timings: Record<string, number> = {};
  for (const ds of datasourcesOf(duck.catalog)) {
    // CSV: about half the bytes of JSON lines and much cheaper to parse on a 2-core box. Empty fields
    // are nulls, which Druid 27 (default-value null handling) stores as null strings anyway.
    const file = resolve(dir, `${ds.name}.csv`);
    const started = Date.now();
    await duck.exec(`COPY (${ds.select}) TO '${file.replaceAll("'", "''")}' (FORMAT CSV, HEADER false)`, []);
    const n = await duck.read(`SELECT count(*) AS n FROM ${ds.name}`, []);
    counts[ds.name] = Number(n[0]?.['n'] ?? 0);
    const columns = ds.signature.filter((c) => c.name !== 'ts').map((c) => col(c.name));
    const sql = `REPLACE INTO ${table(ds.name)} OVERWRITE ALL
SELECT MILLIS_TO_TIMESTAMP(${col('ts')}) AS ${col('__time')}, ${columns.join(', ')}
FROM TABLE(EXTERN(${L(JSON.stringify({ type: 'local', files: [file] }))}, ${L(
      JSON.stringify({ type: 'csv', findColumnsFromHeader: false, columns: ds.signature.map((c) => c.name) }),
    )}, ${L(JSON.stringify(ds.signature))}))
PARTITIONED BY ${ds.partitioned}`;
    await druid.ingest(ds.name, sql);
    await waitForCount(druid, ds.name, counts[ds.name] ?? 0);
    timings[ds.name] = Date.now() - started;
  }
  const marks = await duck.readWatermarks();
  const started = Date.now();
  await druid.writeWatermarks(marks);
  timings['strata_watermarks'] = Date.now() - started;
  return { counts, timings };
}

async function waitForCount(druid: DruidStore, datasource: string, expected: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const rows = await druid.client.sql(`SELECT COUNT(*) AS "n" FROM ${table(datasource)}`, []).catch(() => []);
    const n = Number(rows[0]?.['n'] ?? -1);
    if (n === expected) return;
    if (Date.now() > deadline) throw new Error(`${datasource}: ${n} rows visible in Druid, expected ${expected}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
