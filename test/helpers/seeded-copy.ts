import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../../catalog/catalog.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { SeedOptions } from '../../store/duckdb/seed-dataset.ts';
import { seedStore } from '../../store/duckdb/seed-file.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, '.cache', 'test-fixtures');
/** The code a seeded file depends on: a change to any of it seeds anew. */
const SOURCES = ['catalog', 'planner', 'store', 'store/duckdb', 'node_modules/@duckdb/node-api/package.json'];

/**
 * A seeded in-memory store, copied from a file seeded once per dataset,
 * catalog and version of the seeding code (a few milliseconds instead of two
 * seconds a test file): the copy is a store of its own, which a test may
 * change freely. Equal to seeding it in place: the same rows in the same order.
 */
export async function seededCopy(options: SeedOptions, catalog: Catalog): Promise<DuckDbStore> {
  const file = join(DIR, `${fingerprint(options, catalog)}.duckdb`);
  if (!existsSync(file)) await seedInto(file, options, catalog);
  const store = await DuckDbStore.open(':memory:', catalog);
  await copyTables(store, file);
  return store;
}

/** Every table of `file` into `store` (created as the file has it unless `store` has it already), rows in their stored order. */
export async function copyTables(store: DuckDbStore, file: string): Promise<void> {
  await store.exec(`ATTACH '${file.replaceAll("'", "''")}' AS seeded (READ_ONLY)`, []);
  try {
    const tables = await store.read(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'seeded' ORDER BY 1`, []);
    for (const { table_name: name } of tables) {
      const table = `"${String(name)}"`;
      await store.exec(`CREATE TABLE IF NOT EXISTS ${table} AS SELECT * FROM seeded.${table} LIMIT 0`, []);
      await store.exec(`INSERT INTO ${table} SELECT * FROM seeded.${table}`, []);
    }
  } finally {
    await store.exec('DETACH seeded', []);
  }
}

/** Seeds a file under a name of its own, then moves it in place: test files seeding at once never read half a file. */
async function seedInto(file: string, options: SeedOptions, catalog: Catalog): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const partial = `${file}.${randomUUID()}.partial`;
  const store = await DuckDbStore.open(partial, catalog);
  try {
    await seedStore(store, options);
  } finally {
    await store.close();
  }
  renameSync(partial, file);
  rmSync(`${partial}.wal`, { force: true });
}

function fingerprint(options: SeedOptions, catalog: Catalog): string {
  const hash = createHash('sha256').update(JSON.stringify({ options, catalog }));
  for (const source of SOURCES) {
    const path = join(ROOT, source);
    if (source.endsWith('.json')) hash.update(readFileSync(path));
    else for (const name of readdirSync(path).sort()) if (name.endsWith('.ts')) hash.update(readFileSync(join(path, name)));
  }
  return hash.digest('hex').slice(0, 24);
}
