import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../api/app.ts';
import { CATALOG, DAY_MS, MINUTE_MS, rollupOf, withRollups } from '../catalog/catalog.ts';
import { differentialRun } from './helpers/differential-run.ts';
import { END, SMALL, seededStore, testApp } from './helpers/fixture.ts';
import { ingestedCopy } from './helpers/ingested-copy.ts';
import { propertyRuns } from './helpers/runs.ts';

/**
 * The rollup routing is only allowed where it is provably identical to raw:
 * 500 random queries, each run as routed and as forced-raw, must agree
 * exactly (same series, same labels, same timestamps, same values).
 */
let app: App;

before(async () => {
  app = await testApp(await seededStore(), { STRATA_CACHE_MAX_MB: '1' });
});
after(async () => app.close());

const CASES = propertyRuns(500);
/** Over received data: test/ingested-equals-seeded.test.ts shows its store equals the seeded one, so fewer cases suffice end to end. */
const INGESTED_CASES = propertyRuns(100);

test(`${CASES} random queries: routed == forced raw, and most never touch raw`, async () => {
  const { runs, withoutRaw, rollupOnly, split, errors } = await differentialRun(app, CASES);
  console.log(
    `differential: ${runs} queries, ${withoutRaw} without raw, ${rollupOnly} rollup-only, ${split} split, ${errors} rejected alike`,
  );
  assert.equal(runs, CASES);
  // How the generator's cases spread over sources is a claim about all 500 of them; the fast
  // tier's first fifth is not a fair sample of it (its first 100 have 46 without raw).
  if (CASES < 500) return;
  assert.ok(withoutRaw > runs / 2, `most queries must not touch raw (got ${withoutRaw}/${runs})`);
  assert.ok(split > 20, `ragged edges and fresh tails must be exercised (got ${split} split plans)`);
});

/**
 * A rollup level is one catalog entry: a catalog with a five-minute rollup
 * (every label level, like rollup_1h) gets its table, its build, its
 * watermark and its routing from that entry alone, and the same differential
 * suite holds on it, with rollup_5m serving part of the plans.
 */
test(`a catalog with an extra rollup level (rollup_5m): ${CASES} random queries, routed == forced raw`, async () => {
  const catalog = withRollups(
    CATALOG,
    rollupOf('rollup_5m', 5 * MINUTE_MS, 7 * DAY_MS, (m) => [[], m.labels.slice(0, 1), [...m.labels]]),
  );
  const store = await seededStore(SMALL, catalog);
  const extra = await testApp(store, { STRATA_CACHE_MAX_MB: '1' });
  try {
    assert.ok((await store.readWatermarks())['rollup_5m']! > END - DAY_MS, 'the seed built rollup_5m and recorded its watermark');
    const tally = await differentialRun(extra, CASES);
    console.log(`differential on rollup_5m: ${tally.runs} queries, plans by source ${JSON.stringify(tally.bySource)}`);
    assert.equal(tally.runs, CASES);
    assert.ok((tally.bySource['rollup_5m'] ?? 0) > CASES / 20, `rollup_5m must serve some plans (got ${tally.bySource['rollup_5m'] ?? 0})`);
  } finally {
    await extra.close();
  }
});

/** The same suite over data that came in through POST /v1/metrics (test/helpers/ingested-copy.ts), not seeded in SQL. */
test(`over data received through the OTLP receiver: ${INGESTED_CASES} random queries, routed == forced raw`, async () => {
  const store = await ingestedCopy(SMALL);
  const received = await testApp(store, { STRATA_CACHE_MAX_MB: '1' });
  try {
    const tally = await differentialRun(received, INGESTED_CASES);
    console.log(`differential over received data: ${tally.runs} queries, ${tally.withoutRaw} without raw, ${tally.split} split`);
    assert.equal(tally.runs, INGESTED_CASES);
    assert.ok(tally.withoutRaw > 0 && tally.split > 0, 'the rollups built over received data serve plans, whole and split');
  } finally {
    await received.close();
    await store.close();
  }
});
