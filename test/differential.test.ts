import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { App } from '../api/app.ts';
import { DAY_MS } from '../catalog/catalog.ts';
import { END, outcome, principal, runDirect, seededStore, testApp } from './helpers/fixture.ts';
import { randomCase } from './helpers/random-queries.ts';
import { propertyRuns } from './helpers/runs.ts';

/**
 * The rollup routing is only allowed where it is provably identical to raw:
 * 500 random queries, each run as routed and as forced-raw, must agree
 * exactly (same series, same labels, same timestamps, same values).
 */
let app: App;
let clustersOf: Record<string, string[]>;

before(async () => {
  app = await testApp(await seededStore(), { STRATA_CACHE_MAX_MB: '1' });
  clustersOf = {};
  for (const r of app.services.resources.list(undefined)) (clustersOf[r.tenantId] ??= []).push(r.resourceId);
});
after(async () => app.close());

const CASES = propertyRuns(500);

test(`${CASES} random queries: routed == forced raw, and most never touch raw`, async () => {
  let runs = 0;
  let withoutRaw = 0;
  let rollupOnly = 0;
  let split = 0;
  let errors = 0;
  await fc.assert(
    fc.asyncProperty(randomCase(END - 3 * DAY_MS, END, clustersOf), async ({ tenant, args }) => {
      const who = tenant ? principal('customer', tenant) : principal('internal');
      const routed = await outcome(() => runDirect(app, who, args));
      const raw = await outcome(() => runDirect(app, who, args, true));
      runs += 1;
      if (!routed.ok || !raw.ok) {
        errors += 1;
        assert.deepEqual(routed, raw, `both paths must fail alike for ${JSON.stringify(args)}`);
        return;
      }
      const sources = new Set(routed.result.plan.fragments.map((f) => f.source));
      if (!sources.has('raw')) withoutRaw += 1;
      if (sources.size === 1 && !sources.has('raw')) rollupOnly += 1;
      if (sources.size > 1) split += 1;
      assert.deepEqual(routed.result.series, raw.result.series, `routed != raw for ${JSON.stringify(args)} via ${[...sources].join('+')}`);
      assert.equal(routed.result.pageInfo.totalSeries, raw.result.pageInfo.totalSeries);
    }),
    { numRuns: CASES, seed: 20261123, endOnFailure: true },
  );
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
