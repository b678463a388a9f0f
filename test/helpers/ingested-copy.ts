import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_LATENESS_LIMIT_MS } from '../../config/config.ts';
import { CATALOG, HOUR_MS, type Catalog } from '../../catalog/catalog.ts';
import { alignDown } from '../../planner/interval.ts';
import { DuckDbPointWriter } from '../../store/duckdb/duckdb-point-writer.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { SeedOptions } from '../../store/duckdb/seed-dataset.ts';
import { SEED_ROLLUP_LAG_MS } from '../../store/duckdb/seed-file.ts';
import { startReplica } from './edge-server.ts';
import { sendRawRows } from './raw-as-otlp.ts';
import { END } from './fixture.ts';
import { securityStore } from './security-edge.ts';
import { copyTables, seededCopy } from './seeded-copy.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, '.cache', 'test-fixtures');
/** seeded-copy.ts's sources, the receiver and its write path, and how rows become requests. */
const SOURCES = [
  'catalog',
  'planner',
  'store',
  'store/duckdb',
  'node_modules/@duckdb/node-api/package.json',
  'ingest',
  'api/otlp',
  'test/helpers/ingested-copy.ts',
  'test/helpers/raw-as-otlp.ts',
];

/** What an ingested store is built from: a source store whose raw rows and registry are sent through the receiver. */
export interface IngestRecipe {
  /** What the source's content is a function of (besides `sources`): part of the cache key. */
  readonly key: unknown;
  /** Code (paths from the repository root) the source's content depends on besides SOURCES. */
  readonly sources?: readonly string[];
  readonly catalog: Catalog;
  /** The data's end: the receiver's clock (STRATA_NOW), so that every point is inside its lateness window. */
  readonly end: number;
  readonly source: () => Promise<DuckDbStore>;
}

/**
 * The store `seededCopy(options, catalog)` gives, but whose telemetry came in
 * through POST /v1/metrics: the seed's raw rows sent as OTLP protobuf by
 * concurrent senders (counters as cumulative Sums, some as delta; gauges as
 * Gauges), the rollups then built as the seed builds them. Built once per
 * dataset and version of the code, then copied like a seeded store.
 */
export async function ingestedCopy(options: SeedOptions, catalog: Catalog = CATALOG): Promise<DuckDbStore> {
  return ingestedStore(seededRecipe(options, catalog));
}

/** The tenant-isolation suite's store (security-edge.ts's securityStore), through the receiver. */
export async function ingestedSecurityStore(): Promise<DuckDbStore> {
  return ingestedStore(SECURITY_RECIPE);
}

export const seededRecipe = (options: SeedOptions, catalog: Catalog): IngestRecipe => ({
  key: { seeded: options },
  catalog,
  end: options.end,
  source: () => seededCopy(options, catalog),
});

export const SECURITY_RECIPE: IngestRecipe = {
  key: 'securityStore',
  sources: ['test/helpers/security-edge.ts', 'test/helpers/fixture.ts'],
  catalog: CATALOG,
  end: END,
  source: securityStore,
};

/** An in-memory copy of the recipe's ingested file: a store of its own, which a test may change freely. */
export async function ingestedStore(recipe: IngestRecipe): Promise<DuckDbStore> {
  return copyOf(await ingestedFile(recipe), recipe.catalog);
}

/** The file the recipe's data was ingested into, ingested first if this version of the code has none. */
export async function ingestedFile(recipe: IngestRecipe): Promise<string> {
  const file = join(DIR, `ingested-${fingerprint(recipe)}.duckdb`);
  if (!existsSync(file)) await ingestInto(file, recipe);
  return file;
}

/** An in-memory store with every table of `file`; the point writer's tables made first, with their keys (CREATE AS has none). */
async function copyOf(file: string, catalog: Catalog): Promise<DuckDbStore> {
  const store = await DuckDbStore.open(':memory:', catalog);
  await DuckDbPointWriter.open(store.duckdb);
  await copyTables(store, file);
  return store;
}

/** Ingests into a file of its own name, then moves it in place (test files building at once never read half a file). */
async function ingestInto(file: string, recipe: IngestRecipe): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const partial = `${file}.${randomUUID()}.partial`;
  try {
    await ingestFile(partial, recipe);
  } catch (error) {
    for (const path of [partial, `${partial}.wal`]) rmSync(path, { force: true });
    throw error;
  }
  renameSync(partial, file);
  rmSync(`${partial}.wal`, { force: true });
}

async function ingestFile(path: string, recipe: IngestRecipe): Promise<void> {
  const source = await recipe.source();
  const store = await DuckDbStore.open(path, recipe.catalog);
  try {
    // The registry is configuration, not telemetry: the receiver refuses clusters it does not hold.
    for (const r of await source.listResources({ kind: 'all' }))
      await store.exec('INSERT INTO resources VALUES (?, ?)', [r.tenantId, r.resourceId]);
    const replica = await startReplica(store, {
      STRATA_NOW: new Date(recipe.end).toISOString(),
      // The longest window the receiver allows (raw retention): every dataset of a week or less is inside it.
      STRATA_OTLP_MAX_LATENESS: `${MAX_LATENESS_LIMIT_MS / HOUR_MS}h`,
    });
    try {
      const { points, seconds } = await sendRawRows(source, recipe.catalog, replica);
      console.log(
        `ingested-copy: ${points} points through POST /v1/metrics in ${seconds.toFixed(1)} s (${Math.round(points / seconds)}/s)`,
      );
    } finally {
      await replica.stop();
    }
    await buildRollupsAsSeeded(store);
  } finally {
    await store.close();
    await source.close();
  }
}

/** What seedStore (store/duckdb/seed-file.ts) does after inserting its rows: rollups of whole buckets up to a lag behind the data end. */
async function buildRollupsAsSeeded(store: DuckDbStore): Promise<void> {
  const range = await store.rawDataRange();
  if (!range) return;
  const complete = alignDown(range.end, HOUR_MS) - SEED_ROLLUP_LAG_MS;
  for (const rollup of store.catalog.rollups) {
    const start = alignDown(range.start, rollup.bucketMs);
    const end = alignDown(complete, rollup.bucketMs);
    if (end > start) await store.buildRollup(rollup.name, { start, end });
  }
}

function fingerprint(recipe: IngestRecipe): string {
  const hash = createHash('sha256').update(JSON.stringify({ key: recipe.key, catalog: recipe.catalog, end: recipe.end }));
  for (const source of [...SOURCES, ...(recipe.sources ?? [])]) {
    const path = join(ROOT, source);
    if (!statSync(path).isDirectory()) hash.update(readFileSync(path));
    else for (const name of readdirSync(path).sort()) if (name.endsWith('.ts')) hash.update(readFileSync(join(path, name)));
  }
  return hash.digest('hex').slice(0, 24);
}
