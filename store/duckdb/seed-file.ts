import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DAY_MS, HOUR_MS } from '../../catalog/catalog.ts';
import { alignDown } from '../../planner/interval.ts';
import { DuckDbStore } from './duckdb-store.ts';
import type { SeedOptions } from './seed-dataset.ts';

/** How far behind the data end the seeded rollups stop, so that a fresh tail exists. */
export const SEED_ROLLUP_LAG_MS = 2 * HOUR_MS;

/**
 * Writes a new DuckDB file: raw telemetry, resources, and rollups complete up
 * to a watermark a little behind the data end (the reference aggregator, or
 * `npm start`, catches them up and publishes events).
 */
export async function seedFile(path: string, options: SeedOptions): Promise<{ rows: number; watermarks: Record<string, string> }> {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    for (const file of [path, `${path}.wal`]) if (existsSync(file)) rmSync(file);
  }
  const store = await DuckDbStore.open(path);
  try {
    return await seedStore(store, options);
  } finally {
    await store.close();
  }
}

export async function seedStore(store: DuckDbStore, options: SeedOptions): Promise<{ rows: number; watermarks: Record<string, string> }> {
  await store.seed(options);
  const range = await store.rawDataRange();
  if (!range) return { rows: 0, watermarks: {} };
  const hourly = alignDown(range.end, HOUR_MS) - SEED_ROLLUP_LAG_MS;
  const daily = alignDown(hourly, DAY_MS);
  const start = alignDown(range.start, HOUR_MS);
  if (hourly > start) await store.buildRollup('rollup_1h', { start, end: hourly });
  if (daily > alignDown(range.start, DAY_MS)) await store.buildRollup('rollup_1d', { start: alignDown(range.start, DAY_MS), end: daily });
  const rows = await store.read('SELECT count(*) AS n FROM telemetry_raw', []);
  return {
    rows: Number(rows[0]?.['n'] ?? 0),
    watermarks: { rollup_1h: new Date(hourly).toISOString(), rollup_1d: new Date(daily).toISOString() },
  };
}
