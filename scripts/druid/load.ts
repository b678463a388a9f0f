/**
 * npx tsx scripts/druid/load.ts --db FILE
 * Copies a DuckDB file made by `npm run seed` (raw data, rollups, resources,
 * watermarks) into the Druid at DRUID_URL / DRUID_COORDINATOR_URL, replacing
 * what Strata's datasources held. Returns once every row is queryable.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../config/config.ts';
import { loadDruidFromDuckDb } from './load-from-duckdb.ts';
import { DruidStore } from '../../store/druid/druid-store.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { db: { type: 'string' } }, strict: true });
  if (!values.db) throw new ConfigError('--db FILE is required: a DuckDB file made by `npm run seed -- --db FILE ...`.');
  const config = loadConfig(process.env, { STRATA_STORE: 'druid' });
  const druid = new DruidStore({ url: config.store.druidUrl ?? '', coordinatorUrl: config.store.druidCoordinatorUrl });
  if (!config.store.druidCoordinatorUrl)
    throw new ConfigError('DRUID_COORDINATOR_URL is required: loads run as MSQ tasks watched on the overlord.');
  await druid.ping().catch((error: unknown) => {
    throw new ConfigError(
      `Druid is not answering at DRUID_URL=${config.store.druidUrl} (${String(error)}): start it (scripts/druid.sh start) or fix DRUID_URL.`,
    );
  });
  const duck = await DuckDbStore.open(values.db);
  try {
    const started = Date.now();
    const { counts } = await loadDruidFromDuckDb(duck, druid);
    console.log(`Loaded ${values.db} into Druid at ${config.store.druidUrl} in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
  } finally {
    await duck.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
