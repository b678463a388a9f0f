import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATALOG } from '../catalog/catalog.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { FUZZ_DATASET, SMALL } from './helpers/fixture.ts';
import { ingestedFile, ingestedStore, SECURITY_RECIPE, seededRecipe, type IngestRecipe } from './helpers/ingested-copy.ts';

/**
 * The stores the differential, fuzz and isolation suites read, once seeded
 * in SQL and once sent through POST /v1/metrics (cumulative and delta Sums,
 * Gauges, by concurrent senders, some requests twice), hold the same rows:
 * raw telemetry, every rollup, the registry and the watermarks, row for row
 * and value for value. So every answer those suites check over seeded data
 * holds over received data too; they also run over it, end to end.
 */
const TABLES = ['telemetry_raw', ...CATALOG.rollups.map((r) => r.name), 'resources', 'strata_watermarks'];

const CASES: [string, IngestRecipe][] = [
  ['SMALL (differential)', seededRecipe(SMALL, CATALOG)],
  ['the fuzz dataset', seededRecipe(FUZZ_DATASET, CATALOG)],
  ['the tenant-isolation store', SECURITY_RECIPE],
];

/**
 * The rows of `table` only one side holds, as multisets (a row twice on one side and once on the
 * other counts). Equal counts and nothing only seeded mean equal: the other way is computed only
 * to show a difference.
 */
interface Difference {
  readonly table: string;
  readonly rows: { readonly seeded: number; readonly ingested: number };
  readonly onlySeeded: string[];
  readonly onlyIngested: string[];
}

async function difference(seeded: DuckDbStore, table: string): Promise<Difference> {
  const minus = (a: string, b: string) => `SELECT * FROM ${a}."${table}" EXCEPT ALL SELECT * FROM ${b}."${table}"`;
  const sample = async (a: string, b: string) => (await seeded.read(`${minus(a, b)} LIMIT 5`, [])).map((r) => JSON.stringify(r, big));
  const [counts] = await seeded.read(
    `SELECT (SELECT count(*) FROM main."${table}") AS seeded, (SELECT count(*) FROM ingested."${table}") AS ingested`,
    [],
  );
  const rows = { seeded: Number(counts?.['seeded']), ingested: Number(counts?.['ingested']) };
  const onlySeeded = await sample('main', 'ingested');
  const onlyIngested = rows.seeded === rows.ingested && onlySeeded.length === 0 ? [] : await sample('ingested', 'main');
  return { table, rows, onlySeeded, onlyIngested };
}

const big = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? String(value) : value);

for (const [name, recipe] of CASES) {
  test(`${name} through the receiver equals it seeded: raw, every rollup, registry and watermarks, row for row`, async () => {
    const file = await ingestedFile(recipe);
    const seeded = await recipe.source();
    try {
      await seeded.exec(`ATTACH '${file.replaceAll("'", "''")}' AS ingested (READ_ONLY)`, []);
      for (const table of TABLES) {
        const diff = await difference(seeded, table);
        const same = diff.rows.seeded;
        assert.deepEqual(diff, { table, rows: { seeded: same, ingested: same }, onlySeeded: [], onlyIngested: [] });
        assert.ok(same > 0, `${table} is empty: the comparison would be vacuous`);
      }
      const [late] = await seeded.read('SELECT count(*) AS n FROM ingested.ingest_late', []);
      assert.equal(Number(late?.['n']), 0, 'no minute is left for the aggregator to rebuild');
    } finally {
      await seeded.close();
    }
  });
}

test('an ingested copy holds every table of its file, the point writer’s included', async () => {
  const recipe = seededRecipe(FUZZ_DATASET, CATALOG);
  const copy = await ingestedStore(recipe);
  try {
    await copy.exec(`ATTACH '${(await ingestedFile(recipe)).replaceAll("'", "''")}' AS ingested (READ_ONLY)`, []);
    const tables = (await copy.read(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'ingested'`, [])).map((r) =>
      String(r['table_name']),
    );
    for (const table of TABLES) assert.ok(tables.includes(table), table);
    assert.ok(tables.length > TABLES.length, `the point writer's own tables are in the file (${tables.join(', ')})`);
    for (const table of tables) {
      const [row] = await copy.read(
        `SELECT (SELECT count(*) FROM main."${table}") AS copied, (SELECT count(*) FROM ingested."${table}") AS stored`,
        [],
      );
      assert.equal(row?.['copied'], row?.['stored'], table);
    }
  } finally {
    await copy.close();
  }
});
