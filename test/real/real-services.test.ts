import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../../api/app.ts';
import { checkReadiness } from '../../api/http/readiness.ts';
import { HOUR_MS } from '../../catalog/catalog.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { END, execute, principal, seededStore, testApp, type GqlResult } from '../helpers/fixture.ts';
import { kafkaScript, serviceEnv } from '../helpers/services.ts';

/**
 * Two API replicas on real Redis and real Kafka: each replica has its own
 * consumer group (each keeps watermarks in memory, so each must see every
 * event), and they share the Redis cache.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let a: App;
let b: App;
let cluster: string;
const topic = `strata.aggregations.test.${Date.now()}`;

const env = (replica: string) => ({
  STRATA_CACHE: 'redis',
  REDIS_URL: serviceEnv('REDIS_URL'),
  STRATA_REDIS_TIMEOUT: '500ms',
  STRATA_EVENTS: 'kafka',
  KAFKA_BROKERS: serviceEnv('KAFKA_BROKERS'),
  STRATA_KAFKA_TOPIC: topic,
  STRATA_REPLICA_ID: `${replica}-${Date.now()}`,
});

before(async () => {
  store = await seededStore();
  a = await testApp(store, env('a'));
  b = await testApp(store, env('b'));
  cluster = a.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => {
  await a.close();
  await b.close();
  await store.close();
});

const query = () => `{ timeseries(query: { metric: "${M}received_bytes", granularity: ALL, interval: "now-6h/now",
  filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { series { points { value } } plan { operation { storeQueries } } } }`;
const total = (r: GqlResult): number => {
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return (r.data?.['timeseries'] as { series: { points: { value: number }[] }[] }).series[0]?.points[0]?.value ?? NaN;
};
const storeQueries = (r: GqlResult): number =>
  (r.data?.['timeseries'] as { plan: { operation: { storeQueries: number } } }).plan.operation.storeQueries;

async function waitFor(what: string, pred: () => Promise<boolean> | boolean, ms = 60_000): Promise<number> {
  const start = Date.now();
  while (!(await pred())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

async function lateData(hoursAgo: number, bytes: number): Promise<{ start: number; end: number }> {
  const hour = END - hoursAgo * HOUR_MS;
  await store.exec(
    `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), 't-1', ?, '${M}received_bytes', 'orders', NULL, NULL, NULL, NULL, ?)`,
    [hour + 120_000, cluster, bytes],
  );
  return { start: hour, end: hour + HOUR_MS };
}

test('cached on Redis, invalidated through Kafka on both replicas; time from publish to fresh result', async () => {
  const who = principal('customer', 't-1');
  const before = total(await execute(a, who, query()));
  const cached = await execute(b, who, query());
  assert.equal(storeQueries(cached), 0, 'replica b is served from the shared Redis cache');
  assert.equal(total(cached), before);
  const hour = await lateData(4, 5000);
  assert.equal(total(await execute(a, who, query())), before, 'cached until the aggregation is published');
  const published = Date.now();
  await a.aggregator.publish('rollup_1h', hour);
  const toFreshA = await waitFor('replica a fresh', async () => total(await execute(a, who, query())) === before + 5000);
  const toFreshB = await waitFor('replica b applied', () => b.listener.stats.applied >= 1);
  console.log(
    `publish -> fresh result: replica a ${toFreshA} ms, replica b applied after ${Date.now() - published} ms (b's own wait ${toFreshB} ms)`,
  );
  assert.equal(total(await execute(b, who, query())), before + 5000);
  assert.match(b.listener.lastTraceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'W3C trace context travelled in the Kafka headers');
});

test('a poison message is skipped and counted; the next good event is still applied', async () => {
  const rejected = a.listener.stats.rejected;
  const applied = a.listener.stats.applied;
  await a.bus.publishRaw(Buffer.from('{"type":"aggregation.published","version":1'));
  await a.bus.publishRaw(Buffer.from(JSON.stringify({ type: 'aggregation.published', version: 99 })));
  await a.aggregator.publish('rollup_1h', await lateData(5, 7));
  await waitFor('good event after poison', () => a.listener.stats.applied > applied);
  assert.equal(a.listener.stats.rejected, rejected + 2);
});

test('the Kafka broker stops and restarts: no event is lost, the listeners recover', async () => {
  const who = principal('customer', 't-1');
  const appliedA = a.listener.stats.applied;
  const appliedB = b.listener.stats.applied;
  const first = await lateData(6, 11);
  await a.aggregator.publish('rollup_1h', first);
  assert.equal((await checkReadiness(a, false)).body.status, 'ready');
  kafkaScript('stop');
  // Readiness shows the broker down, but stays 200: queries are still answered.
  const degraded = await checkReadiness(a, false);
  assert.deepEqual([degraded.httpStatus, degraded.body.status, degraded.body.checks['events']?.ok], [200, 'degraded', false]);
  assert.equal(degraded.body.checks['cache']?.ok, true);
  // Published while the broker is down: the producer retries until it is back.
  const second = await lateData(7, 13);
  const pending = a.aggregator.publish('rollup_1h', second);
  await new Promise((r) => setTimeout(r, 1000));
  kafkaScript('start');
  await pending;
  await waitFor('both events on replica a', () => a.listener.stats.applied >= appliedA + 2, 90_000);
  await waitFor('both events on replica b', () => b.listener.stats.applied >= appliedB + 2, 90_000);
  const expected = total(await execute(a, who, query()));
  assert.equal(total(await execute(b, who, query())), expected);
  await waitFor('readiness back to ready', async () => (await checkReadiness(a, false)).body.status === 'ready', 30_000);
  // And the next event after the restart flows as usual.
  await a.aggregator.publish('rollup_1h', await lateData(8, 17));
  await waitFor('event after restart', () => a.listener.stats.applied >= appliedA + 3, 30_000);
});
