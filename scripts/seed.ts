/**
 * npm run seed -- --db FILE --seed N --tenants N --clusters N --topics N --partitions N --days N --end ISO
 * Writes a deterministic synthetic dataset: the same options give the same data.
 */
import { parseArgs } from 'node:util';
import { MINUTE_MS } from '../catalog/catalog.ts';
import { DEFAULT_SEED } from '../store/duckdb/seed-dataset.ts';
import { seedFile } from '../store/duckdb/seed-file.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'data/strata.duckdb' },
    seed: { type: 'string', default: String(DEFAULT_SEED.seed) },
    tenants: { type: 'string', default: String(DEFAULT_SEED.tenants) },
    clusters: { type: 'string', default: String(DEFAULT_SEED.clusters) },
    topics: { type: 'string', default: String(DEFAULT_SEED.topics) },
    partitions: { type: 'string', default: String(DEFAULT_SEED.partitions) },
    days: { type: 'string', default: String(DEFAULT_SEED.days) },
    end: { type: 'string' },
  },
});

function count(name: keyof typeof values, min: number, max: number): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max} (got "${values[name]}").`);
    process.exit(2);
  }
  return n;
}

const end = values.end ? Date.parse(values.end) : Math.floor(Date.now() / 3_600_000) * 3_600_000;
if (!Number.isFinite(end)) {
  console.error(`--end must be an ISO-8601 timestamp such as 2026-11-23T00:00:00Z (got "${values.end}").`);
  process.exit(2);
}
const options = {
  seed: count('seed', 0, 2 ** 31),
  tenants: count('tenants', 1, 10_000),
  clusters: count('clusters', 1, 100),
  topics: count('topics', 1, 1000),
  partitions: count('partitions', 1, 1000),
  days: count('days', 1, 400),
  end: Math.floor(end / MINUTE_MS) * MINUTE_MS,
};
const started = Date.now();
const result = await seedFile(values.db ?? 'data/strata.duckdb', options);
console.log(
  `Wrote ${result.rows} raw rows to ${values.db} in ${((Date.now() - started) / 1000).toFixed(1)}s (seed ${options.seed}, ${options.tenants} tenants x ${options.clusters} clusters, ${options.days} days to ${new Date(options.end).toISOString()}).`,
);
console.log(`Rollups complete up to: ${JSON.stringify(result.watermarks)}`);
