import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../api/app.ts';
import { HOUR_MS } from '../catalog/catalog.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { dashboardDocument } from './helpers/documents.ts';
import { END, execute, principal, seededStore, testApp, type GqlResult } from './helpers/fixture.ts';

/**
 * A 12-panel dashboard is one GraphQL operation with 12 aliased timeseries
 * fields. All panels reach the DataLoader in one tick: one cache lookup and
 * at most one store query per batch.
 */
let store: DuckDbStore;
let app: App;
let cluster: string;

const M = 'io.confluent.kafka.server/';
const dashboard = (): string => dashboardDocument(cluster);

function storeQueries(result: GqlResult): number {
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  const first = result.data?.['p0'] as { plan: { operation: { storeQueries: number } } };
  return first.plan.operation.storeQueries;
}

function totalOf(result: GqlResult, panel: string): number {
  const ts = result.data?.[panel] as { series: { points: { value: number }[] }[] };
  return ts.series.flatMap((s) => s.points).reduce((n, p) => n + p.value, 0);
}

before(async () => {
  store = await seededStore();
  app = await testApp(store);
  cluster = app.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => app.close());

test('a 12-panel dashboard costs at most 2 store queries, a repeat costs none', async () => {
  const before = app.services.loaders.totals.storeQueries;
  const first = await execute(app, principal('customer', 't-1'), dashboard());
  assert.ok(storeQueries(first) <= 2, `cold dashboard: ${storeQueries(first)} store queries`);
  assert.equal(app.services.loaders.totals.storeQueries - before, storeQueries(first));
  const again = await execute(app, principal('customer', 't-1'), dashboard());
  assert.equal(storeQueries(again), 0, 'the repeated dashboard must be served from the cache');
  for (const key of Object.keys(first.data ?? {}))
    assert.deepEqual(seriesOf(again, key), seriesOf(first, key), `panel ${key} must not change`);
});

test('an aggregation event invalidates exactly what it touched, and the new value shows', async () => {
  const warm = await execute(app, principal('customer', 't-1'), dashboard());
  assert.equal(storeQueries(warm), 0);
  const oldTotal = totalOf(warm, 'p0');
  // Late data lands in raw for a closed hour; until the upstream job republishes, the cache keeps serving.
  const hour = END - 5 * HOUR_MS;
  await store.exec(
    `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), 't-1', ?, '${M}received_bytes', 'orders', NULL, NULL, NULL, NULL, 1000000)`,
    [hour + 60_000, cluster],
  );
  const stale = await execute(app, principal('customer', 't-1'), dashboard());
  assert.equal(storeQueries(stale), 0);
  assert.equal(totalOf(stale, 'p0'), oldTotal);
  // The aggregator rebuilds that hour and publishes aggregation.published; the listener invalidates.
  await app.aggregator.publish('rollup_1h', { start: hour, end: hour + HOUR_MS });
  assert.equal(app.listener.stats.applied >= 1, true);
  const fresh = await execute(app, principal('customer', 't-1'), dashboard());
  assert.ok(storeQueries(fresh) >= 1 && storeQueries(fresh) <= 2, 'the invalidated pieces are read again');
  assert.equal(totalOf(fresh, 'p0'), oldTotal + 1_000_000);
  const panel = fresh.data?.['p10'] as { plan: { fragments: { pieces: number; cacheHits: number }[] } };
  const hits = panel.plan.fragments.reduce((n, f) => n + f.cacheHits, 0);
  assert.ok(hits > 0, 'chunks the event did not touch stay cached');
  // Another tenant's cache entries were not touched by t-1's event.
  const other = await execute(
    app,
    principal('customer', 't-2'),
    dashboard().replaceAll(cluster, app.services.resources.list('t-2')[0]?.resourceId ?? ''),
  );
  assert.ok(storeQueries(other) <= 2);
});

const seriesOf = (result: GqlResult, panel: string): unknown =>
  JSON.parse(JSON.stringify((result.data?.[panel] as { series: unknown }).series));
