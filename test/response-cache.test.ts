import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { RequestContext } from '../resolvers/context.ts';
import { ResponseCache } from '../api/http/response-cache.ts';
import type { Role } from '../auth/principal.ts';
import { HOUR_MS } from '../catalog/catalog.ts';
import { newAggregationEvent } from '../events/aggregation-event.ts';
import { newStats } from '../pipeline/piece-loader.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { post, startReplica, type Replica } from './helpers/edge-server.ts';
import { END, seededStore } from './helpers/fixture.ts';

/**
 * The response cache replays whole answers. What must hold: the tenant is in
 * every key, an applied aggregation event drops every older answer of the
 * scopes it touched (also one computed across the event), and a sliding
 * window's `now` lags by at most the TTL.
 */
const M = 'io.confluent.kafka.server/';

// --- the class alone, with a clock and an epoch of our own ---

const request = (method = 'POST', type = 'application/json'): IncomingMessage =>
  ({ method, headers: { 'content-type': type } }) as unknown as IncomingMessage;
const context = (role: Role, tenantId?: string, now = 0): RequestContext =>
  ({
    now,
    principal: { subject: 's', role, tenantId },
    scope: tenantId ? { kind: 'tenant', tenantId } : { kind: 'all' },
    stats: newStats(),
  }) as unknown as RequestContext;

function response(): ServerResponse & { sent: string | undefined } {
  const res = { sent: undefined as string | undefined, writeHead: () => res, end: (body: Buffer) => void (res.sent = body.toString()) };
  return res as unknown as ServerResponse & { sent: string | undefined };
}

function cacheWith(ttlMs = 1000): { cache: ResponseCache; clock: { now: number }; epoch: { n: number } } {
  const clock = { now: 1000 };
  const epoch = { n: 0 };
  return { cache: new ResponseCache({ ttlMs, maxBytes: 1 << 20, epoch: () => epoch.n, wallClock: () => clock.now }), clock, epoch };
}

/** One request through the cache: the cached answer, or `computed` (then stored). */
function through(cache: ResponseCache, ctx: RequestContext, body: string, computed: string, req = request()): string {
  const ticket = cache.ticket(req, ctx, body);
  const res = response();
  if (ticket?.serve(res)) return res.sent ?? '';
  ticket?.store(200, [['content-type', 'application/json']], computed);
  return computed;
}

test('the tenant and the role are part of the key: the same body never crosses them', () => {
  const { cache } = cacheWith();
  assert.equal(through(cache, context('customer', 't-1'), 'q', 'A'), 'A');
  assert.equal(through(cache, context('customer', 't-1'), 'q', 'other'), 'A', 'a repeat is replayed');
  assert.equal(through(cache, context('customer', 't-2'), 'q', 'B'), 'B', 'another tenant is never served t-1');
  assert.equal(through(cache, context('internal'), 'q', 'C'), 'C', 'internal has its own entries');
  assert.equal(through(cache, context('customer', 't-1'), 'q2', 'D'), 'D', 'another body is another entry');
  assert.equal(cache.stats.hits, 1);
});

test('an applied event drops older answers, also one computed across the event', () => {
  const { cache, epoch } = cacheWith();
  through(cache, context('customer', 't-1'), 'q', 'old');
  epoch.n += 1;
  assert.equal(through(cache, context('customer', 't-1'), 'q', 'new'), 'new');
  assert.equal(cache.stats.invalidated, 1);
  // A request that started before the next event and finished after it must not be replayed.
  const ticket = cache.ticket(request(), context('customer', 't-1'), 'q2');
  assert.equal(ticket?.serve(response()), false);
  epoch.n += 1;
  ticket?.store(200, [], 'computed across the event');
  assert.equal(through(cache, context('customer', 't-1'), 'q2', 'fresh'), 'fresh');
  assert.equal(
    through(cache, context('customer', 't-1'), 'q', 'new again'),
    'new again',
    'the entry made at the previous epoch is dropped too',
  );
});

test('a sliding window: replayed only to a request at the same now, and for at most the TTL', () => {
  const { cache, clock } = cacheWith(1000);
  through(cache, context('customer', 't-1', 60_000), 'now-1h/now', 'at minute 1');
  assert.equal(
    through(cache, context('customer', 't-1', 120_000), 'now-1h/now', 'at minute 2'),
    'at minute 2',
    'a later now is another window',
  );
  const ticket = cache.ticket(request(), context('customer', 't-1'), 'now-1h/now');
  ticket?.serve(response());
  clock.now += 400; // the execution took 400 ms
  ticket?.store(200, [], 'at t0');
  clock.now += 599;
  assert.equal(through(cache, context('customer', 't-1'), 'now-1h/now', 'at t1'), 'at t0');
  clock.now += 1;
  assert.equal(
    through(cache, context('customer', 't-1'), 'now-1h/now', 'at t2'),
    'at t2',
    '1000 ms after the first request started, it is computed again',
  );
  const slow = cache.ticket(request(), context('customer', 't-1'), 'slow');
  slow?.serve(response());
  clock.now += 1000;
  slow?.store(200, [], 'too old when done');
  assert.equal(
    through(cache, context('customer', 't-1'), 'slow', 'again'),
    'again',
    'an answer older than the TTL when computed is not kept',
  );
});

test('errors, billing, GET, other content types and a zero TTL are never cached', () => {
  const { cache } = cacheWith();
  const failing = '{"errors":[{"message":"x"}],"data":null}';
  assert.equal(through(cache, context('customer', 't-1'), 'e', failing), failing);
  assert.equal(through(cache, context('customer', 't-1'), 'e', 'ok'), 'ok');
  through(cache, context('billing'), 'b', 'B1');
  assert.equal(through(cache, context('billing'), 'b', 'B2'), 'B2');
  through(cache, context('customer', 't-1'), 'g', 'G1', request('GET'));
  assert.equal(through(cache, context('customer', 't-1'), 'g', 'G2', request('GET')), 'G2');
  through(cache, context('customer', 't-1'), 't', 'T1', request('POST', 'text/plain'));
  assert.equal(
    through(cache, context('customer', 't-1'), 't', 'T2', request('POST', 'text/plain')),
    'T2',
    'Apollo’s CSRF check must see it',
  );
  const off = cacheWith(0).cache;
  through(off, context('customer', 't-1'), 'q', 'A');
  assert.equal(through(off, context('customer', 't-1'), 'q', 'B'), 'B');
});

// --- through the real HTTP edge ---

let store: DuckDbStore;
let replica: Replica;
let cluster: string;

before(async () => {
  store = await seededStore();
  replica = await startReplica(store, { STRATA_RESPONSE_CACHE_TTL: '1h' });
  cluster = replica.app.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => {
  await replica.stop();
  await store.close();
});

const body = (k: string, interval = 'now-12h/now'): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}received_bytes", granularity: ALL, interval: "${interval}", filter: { field: "resource_id", op: EQ, value: "${k}" } }) {
    series { points { value } } plan { fragments { interval } } } }`,
  });
const total = (answer: { body: { data?: unknown } }): number =>
  (answer.body.data as { timeseries: { series: { points: { value: number }[] }[] } }).timeseries.series[0]?.points[0]?.value ?? NaN;

test('over HTTP: replayed for the tenant, refused to another tenant, fresh after an aggregation event', async () => {
  const url = `${replica.base}/graphql`;
  const t1 = replica.token('customer', 't-1');
  const first = await post(url, t1, body(cluster));
  const hits = replica.server.responses.stats.hits;
  const again = await post(url, t1, body(cluster));
  assert.equal(replica.server.responses.stats.hits, hits + 1);
  assert.deepEqual(again.body, first.body);
  const foreign = await post(url, replica.token('customer', 't-2'), body(cluster));
  assert.equal(foreign.code, 'RESOURCE_NOT_FOUND', 't-2 gets no answer from t-1’s entry');
  // Late data for a closed hour, then the aggregator republishes it: the listener applies the event.
  const hour = END - 5 * HOUR_MS;
  await store.exec(
    `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), 't-1', ?, '${M}received_bytes', 'orders', NULL, NULL, NULL, NULL, 7000)`,
    [hour + 60_000, cluster],
  );
  assert.equal(
    total(await post(url, t1, body(cluster))),
    total(first),
    'until the event, the cached answer stands (as in the piece cache)',
  );
  await replica.app.aggregator.publish('rollup_1h', { start: hour, end: hour + HOUR_MS });
  assert.equal(total(await post(url, t1, body(cluster))), total(first) + 7000, 'the event made the next answer fresh');
});

test('over HTTP: an event drops only the answers of the tenants it names (and internal), one moving a watermark drops all', async () => {
  const url = `${replica.base}/graphql`;
  const t1 = replica.token('customer', 't-1');
  const t2 = replica.token('customer', 't-2');
  const internal = replica.token('internal');
  const other = replica.app.services.resources.list('t-2')[0]?.resourceId ?? '';
  const ask = (token: string, k: string): Promise<number> => post(url, token, body(k, 'now-10h/now')).then(total);
  const [a, b, c] = [await ask(t1, cluster), await ask(t2, other), await ask(internal, other)];
  const hits = replica.server.responses.stats.hits;
  const hour = END - 4 * HOUR_MS;
  await store.exec(
    `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), 't-1', ?, '${M}received_bytes', 'orders', NULL, NULL, NULL, NULL, 11)`,
    [hour + 60_000, cluster],
  );
  const marks = JSON.stringify(replica.app.services.watermarks.snapshot());
  // An upstream job that rebuilt this hour for t-1 only names t-1 (the reference aggregator, which
  // rebuilds an hour for everyone, names every tenant with data in it). A republish: no watermark moves.
  await store.buildRollup('rollup_1h', { start: hour, end: hour + HOUR_MS });
  await replica.app.bus.publish(
    newAggregationEvent('rollup_1h', { start: hour, end: hour + HOUR_MS }, ['t-1'], [`${M}received_bytes`], END),
  );
  assert.equal(JSON.stringify(replica.app.services.watermarks.snapshot()), marks);
  assert.equal(await ask(t1, cluster), a + 11, 't-1, named by the event, is computed again');
  assert.equal(await ask(t2, other), b, 't-2 is not named: its answer is replayed');
  assert.equal(replica.server.responses.stats.hits, hits + 1);
  assert.equal(await ask(internal, other), c, 'internal reads every tenant: computed again (same value: t-2 did not change)');
  assert.equal(replica.server.responses.stats.hits, hits + 1, 'the all-tenants scope was dropped');
  // A watermark that moves changes every query's route (its plan): every scope is dropped.
  replica.app.responseEpochs.applied({
    eventId: 'x',
    rollup: 'rollup_1h',
    interval: { start: 0, end: 1 },
    tenants: ['t-1'],
    metrics: [],
    publishedAt: '',
  });
  replica.app.services.watermarks.advance('rollup_1h', {
    start: replica.app.services.watermarks.snapshot().rollup_1h!,
    end: replica.app.services.watermarks.snapshot().rollup_1h! + HOUR_MS,
  });
  replica.app.responseEpochs.applied({
    eventId: 'y',
    rollup: 'rollup_1h',
    interval: { start: 0, end: 1 },
    tenants: ['t-1'],
    metrics: [],
    publishedAt: '',
  });
  await ask(t2, other);
  assert.equal(replica.server.responses.stats.hits, hits + 1, 't-2 was dropped too');
});

test('over HTTP with a real clock: a sliding window moves on once the TTL has passed', async () => {
  // To the millisecond (STRATA_NOW_STEP=0), so that only the response cache's TTL holds a window still.
  const live = await startReplica(store, { STRATA_NOW: undefined, STRATA_NOW_STEP: '0', STRATA_RESPONSE_CACHE_TTL: '200ms' });
  try {
    const url = `${live.base}/graphql`;
    const t1 = live.token('customer', 't-1');
    const window = (a: { body: { data?: unknown } }): string =>
      JSON.stringify((a.body.data as { timeseries: { plan: unknown } }).timeseries.plan);
    const first = await post(url, t1, body(cluster, 'now-1h/now'));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await new Promise((r) => setTimeout(r, 250));
    const later = await post(url, t1, body(cluster, 'now-1h/now'));
    assert.notEqual(window(later), window(first), 'past the TTL the window is resolved at the new now');
  } finally {
    await live.stop();
  }
});
