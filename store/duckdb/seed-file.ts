import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { HOUR_MS } from '../../catalog/catalog.ts';
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
  // Complete hours up to the lag; each rollup covers the whole buckets of its size within them.
  const complete = alignDown(range.end, HOUR_MS) - SEED_ROLLUP_LAG_MS;
  const watermarks: Record<string, string> = {};
  for (const rollup of store.catalog.rollups) {
    const start = alignDown(range.start, rollup.bucketMs);
    const end = alignDown(complete, rollup.bucketMs);
    if (end > start) await store.buildRollup(rollup.name, { start, end });
    watermarks[rollup.name] = new Date(end).toISOString();
  }
  const rows = await store.read('SELECT count(*) AS n FROM telemetry_raw', []);
  return {
    rows: Number(rows[0]?.['n'] ?? 0),
    watermarks,
  };
}
