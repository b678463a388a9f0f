import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { App } from '../../api/app.ts';
import { DAY_MS } from '../../catalog/catalog.ts';
import { END, outcome, principal, runDirect } from './fixture.ts';
import { randomCase } from './random-queries.ts';

/** What a differential run saw: how its queries were served. */
export interface DifferentialTally {
  runs: number;
  withoutRaw: number;
  rollupOnly: number;
  split: number;
  errors: number;
  /** Plans that read each source at least once. */
  bySource: Record<string, number>;
}

/**
 * The differential suite: `cases` random queries (fixed seed), each run as
 * routed and as forced-raw on `app`, must agree exactly (same series, labels,
 * timestamps and values) or fail alike. Rollup routing is only allowed where
 * it is provably identical to raw, whatever rollups the app's catalog has.
 */
export async function differentialRun(app: App, cases: number): Promise<DifferentialTally> {
  const clustersOf: Record<string, string[]> = {};
  for (const r of app.services.resources.list(undefined)) (clustersOf[r.tenantId] ??= []).push(r.resourceId);
  const tally: DifferentialTally = { runs: 0, withoutRaw: 0, rollupOnly: 0, split: 0, errors: 0, bySource: {} };
  await fc.assert(
    fc.asyncProperty(randomCase(END - 3 * DAY_MS, END, clustersOf), async ({ tenant, args }) => {
      const who = tenant ? principal('customer', tenant) : principal('internal');
      const routed = await outcome(() => runDirect(app, who, args));
      const raw = await outcome(() => runDirect(app, who, args, true));
      tally.runs += 1;
      if (!routed.ok || !raw.ok) {
        tally.errors += 1;
        assert.deepEqual(routed, raw, `both paths must fail alike for ${JSON.stringify(args)}`);
        return;
      }
      const sources = new Set(routed.result.plan.fragments.map((f) => f.source));
      for (const s of sources) tally.bySource[s] = (tally.bySource[s] ?? 0) + 1;
      if (!sources.has('raw')) tally.withoutRaw += 1;
      if (sources.size === 1 && !sources.has('raw')) tally.rollupOnly += 1;
      if (sources.size > 1) tally.split += 1;
      assert.deepEqual(routed.result.series, raw.result.series, `routed != raw for ${JSON.stringify(args)} via ${[...sources].join('+')}`);
      assert.equal(routed.result.pageInfo.totalSeries, raw.result.pageInfo.totalSeries);
    }),
    { numRuns: cases, seed: 20261123, endOnFailure: true },
  );
  return tally;
}
