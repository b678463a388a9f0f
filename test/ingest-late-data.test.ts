import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../api/app.ts';
import { DAY_MS, HOUR_MS } from '../catalog/catalog.ts';
import type { TimeseriesArgs } from '../pipeline/normalize.ts';
import { END, principal, runDirect, seededStore, testApp } from './helpers/fixture.ts';

/**
 * Late data: points for minutes whose rollup buckets are built already are
 * stored (within raw retention), and the aggregator's next run rebuilds
 * exactly those buckets and publishes them again, so the routed answer (from
 * the rollups) equals raw once more, and the caches hear of it.
 */
const RECEIVED = 'io.confluent.kafka.server/received_bytes';
let app: App;
let cluster: string;

before(async () => {
  app = await testApp(await seededStore());
  cluster = app.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => app.close());

/** An hour of yesterday's day and its hourly rollup, both built at the seed. */
const LATE_HOUR = END - 30 * HOUR_MS;

const hourly = (): TimeseriesArgs => ({
  metric: RECEIVED,
  granularity: 'PT1H',
  interval: `${new Date(LATE_HOUR - 2 * HOUR_MS).toISOString()}/${new Date(LATE_HOUR + 2 * HOUR_MS).toISOString()}`,
  filter: { field: 'resource_id', op: 'EQ', value: cluster },
  groupBy: ['topic'],
  limit: 100,
});
const daily = (): TimeseriesArgs => ({
  ...hourly(),
  granularity: 'P1D',
  interval: `${new Date(END - 2 * DAY_MS).toISOString()}/${new Date(END).toISOString()}`,
});

async function answers(args: TimeseriesArgs): Promise<{ routed: unknown; raw: unknown; sources: string[] }> {
  const who = principal('customer', 't-1');
  const routed = await runDirect(app, who, args);
  const raw = await runDirect(app, who, args, true);
  return { routed: routed.series, raw: raw.series, sources: routed.plan.fragments.map((f) => f.source) };
}

test('a late point is stored, its built buckets are rebuilt and published again, and routed answers equal raw again', async () => {
  assert.ok(app.pointWriter, 'the embedded store has a write path');
  const before = await answers(hourly());
  assert.ok(before.sources.includes('rollup_1h'), `the late hour is served by the hourly rollup (${before.sources.join(', ')})`);
  assert.deepEqual(before.routed, before.raw);
  const timeNs = BigInt(LATE_HOUR + 30_000) * 1_000_000n;
  const written = await app.pointWriter.write(
    [
      {
        resourceId: cluster,
        metric: RECEIVED,
        labels: { topic: 'late-topic' },
        temporality: 'delta',
        startNs: timeNs - 1n,
        timeNs,
        value: 1234,
      },
    ],
    { kind: 'tenant', tenantId: 't-1' },
  );
  assert.equal(written.accepted, 1);
  const applied = app.listener.stats.applied;
  const events = await app.aggregator.runOnce();
  const rebuilt = events.map((e) => `${e.datasource} ${e.interval}`);
  assert.ok(
    rebuilt.includes(`rollup_1h ${new Date(LATE_HOUR).toISOString()}/${new Date(LATE_HOUR + HOUR_MS).toISOString()}`),
    rebuilt.join('; '),
  );
  assert.ok(
    rebuilt.includes(`rollup_1d ${new Date(END - 2 * DAY_MS).toISOString()}/${new Date(END - DAY_MS).toISOString()}`),
    rebuilt.join('; '),
  );
  assert.ok(app.listener.stats.applied > applied, 'the listener applied the events (cache invalidation, subscribers)');
  for (const args of [hourly(), daily()]) {
    const after = await answers(args);
    assert.deepEqual(after.routed, after.raw, `routed == raw after the rebuild (${after.sources.join(', ')})`);
    assert.ok(JSON.stringify(after.routed).includes('late-topic'), 'the late point is in the answer');
  }
  assert.deepEqual(await app.pointWriter.takeLateMinutes(), [], 'the rebuild took the late minutes');
});
