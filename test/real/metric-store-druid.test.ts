import { loadDruidFromDuckDb } from '../../scripts/druid/load-from-duckdb.ts';
import { DruidStore } from '../../store/druid/druid-store.ts';
import { metricStoreContract } from '../contracts/metric-store-contract.ts';
import { seededStore } from '../helpers/fixture.ts';

/**
 * The metric store contract on a real Druid cluster (scripts/druid.sh),
 * loaded from the same seeded data as the DuckDB binding. Loading replaces
 * Strata's datasources whole, as druid-conformance.test.ts does.
 */
const DRUID_URL = process.env['DRUID_URL'];
const DRUID_COORDINATOR_URL = process.env['DRUID_COORDINATOR_URL'];
if (!DRUID_URL || !DRUID_COORDINATOR_URL) {
  throw new Error(
    'metric-store-druid needs a running Druid: scripts/druid.sh start && eval "$(scripts/druid.sh env)" && export DRUID_URL DRUID_COORDINATOR_URL',
  );
}

metricStoreContract('druid', async () => {
  const duck = await seededStore();
  const druid = new DruidStore({ url: DRUID_URL, coordinatorUrl: DRUID_COORDINATOR_URL, timeoutMs: 60_000 });
  try {
    await druid.ping();
    await loadDruidFromDuckDb(duck, druid);
  } finally {
    await duck.close();
  }
  return druid;
});
