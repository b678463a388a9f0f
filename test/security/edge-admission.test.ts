import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { MetricStore } from '../../store/metric-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import { post, slowStore, startReplica } from '../helpers/edge-server.ts';

/**
 * The edge's cheap refusals, each through real HTTP: body limits (also after
 * decompression), per-tenant and per-token quotas with RateLimit headers,
 * load shedding, readiness and graceful drain.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let cluster: string;
const resources = JSON.stringify({ query: '{ resources { id } }' });
const series = (c: string): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-6h/now", filter: { field: "resource_id", op: EQ, value: "${c}" } }) { series { points { value } } } }`,
  });

before(async () => {
  store = await seededStore();
  const [row] = await store.read(`SELECT resource_id FROM resources WHERE tenant_id = 't-1' ORDER BY 1 LIMIT 1`, []);
  cluster = String(row?.['resource_id']);
});
after(async () => store.close());

test('bodies over the limit get 413 before parsing, also when they only grow once decompressed', async () => {
  const r = await startReplica(store, { STRATA_MAX_BODY_BYTES: '65536' });
  try {
    const token = r.token('customer', 't-1');
    const huge = JSON.stringify({ query: `{ resources { id } }`, variables: { pad: 'x'.repeat(2_000_000) } });
    const plain = await post(`${r.base}/graphql`, token, huge);
    assert.equal(plain.status, 413);
    assert.equal(plain.code, 'PAYLOAD_TOO_LARGE');
    const bomb = gzipSync(Buffer.from(huge.replace(/x+/, 'x'.repeat(20_000_000))));
    assert.ok(bomb.length < 65_536, `the bomb is small on the wire (${bomb.length} bytes)`);
    const rssBefore = process.memoryUsage().rss;
    const inflated = await post(`${r.base}/graphql`, token, bomb, { 'content-encoding': 'gzip' });
    assert.equal(inflated.status, 413);
    assert.match(inflated.body.errors?.[0]?.message ?? '', /once decompressed/);
    assert.ok(process.memoryUsage().rss - rssBefore < 50 * 2 ** 20, 'the 20 MB body was never buffered');
    const small = await post(`${r.base}/graphql`, token, gzipSync(Buffer.from(resources)), { 'content-encoding': 'gzip' });
    assert.equal(small.status, 200, 'a small gzip body is accepted');
    const odd = await post(`${r.base}/graphql`, token, resources, { 'content-encoding': 'zstd-x' });
    assert.equal(odd.status, 415);
    assert.equal(odd.code, 'UNSUPPORTED_MEDIA_TYPE');
    const broken = await post(`${r.base}/graphql`, token, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    assert.equal(broken.status, 400);
  } finally {
    await r.stop();
  }
});

test('per-tenant quota: 429 with RateLimit, RateLimit-Policy and Retry-After; failed logins spend nothing', async () => {
  const r = await startReplica(store, { STRATA_RATE_LIMIT: '3', STRATA_TOKEN_RATE_LIMIT: '100' });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await post(`${r.base}/graphql`, 'not-a-token', resources)).status, 401);
    const token = r.token('customer', 't-1');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(`${r.base}/graphql`, token, resources));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 429],
    );
    assert.equal(answers[0]?.headers.get('ratelimit-policy'), '"tenant";q=3;w=60, "token";q=100;w=60');
    assert.match(answers[0]?.headers.get('ratelimit') ?? '', /^"tenant";r=2;t=\d+$/);
    const refused = answers[3]!;
    assert.equal(refused.code, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(refused.headers.get('ratelimit') ?? '', new RegExp(`^"tenant";r=0;t=${retryAfter}$`));
    // A second token of the same tenant shares the tenant's budget; another tenant has its own.
    assert.equal((await post(`${r.base}/graphql`, r.token('customer', 't-1'), resources)).status, 429);
    assert.equal((await post(`${r.base}/graphql`, r.token('customer', 't-2'), resources)).status, 200);
  } finally {
    await r.stop();
  }
});

test('per-token quota holds within a tenant', async () => {
  const r = await startReplica(store, { STRATA_RATE_LIMIT: '100', STRATA_TOKEN_RATE_LIMIT: '2' });
  try {
    const one = r.token('customer', 't-1');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(`${r.base}/graphql`, one, resources)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const other = await post(`${r.base}/graphql`, r.token('internal'), resources);
    assert.equal(other.status, 200, 'another token is not affected');
  } finally {
    await r.stop();
  }
});

test('load shedding: beyond the in-flight cap requests get 503 + Retry-After at once, not a queue', async () => {
  const r = await startReplica(slowStore(store, 400), { STRATA_MAX_IN_FLIGHT: '2' });
  try {
    const token = r.token('customer', 't-1');
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post(`${r.base}/graphql`, token, series(cluster).replace('now-6h', `now-${6 + i}h`))),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);
    const shed = answers.find((a) => a.status === 503)!;
    assert.equal(shed.code, 'OVERLOADED');
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.equal(r.server.gate.inFlight, 0);
    assert.equal((await post(`${r.base}/graphql`, token, resources)).status, 200, 'capacity comes back');
  } finally {
    await r.stop();
  }
});

test('readiness: ready on healthy parts; 503 when the store is gone', async () => {
  const own = await seededStore({
    seed: 3,
    tenants: 1,
    clusters: 1,
    topics: 1,
    partitions: 1,
    days: 1,
    end: Date.parse('2026-11-20T00:00:00Z'),
  });
  const r = await startReplica(own);
  try {
    const ready = await fetch(`${r.base}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 200);
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.checks).sort(), ['cache', 'events', 'store']);
    await own.close();
    const gone = await fetch(`${r.base}/readyz`);
    const goneBody = (await gone.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    assert.equal(gone.status, 503);
    assert.equal(goneBody.status, 'unavailable');
    assert.equal(goneBody.checks['store']?.ok, false);
    assert.equal((await fetch(`${r.base}/healthz`)).status, 200, 'liveness is not readiness');
  } finally {
    await r.stop();
  }
});

test('readiness: concurrent probes share one round of checks, so a flood of them reaches the store one at a time', async () => {
  let pings = 0;
  const counted: MetricStore = Object.assign(Object.create(store) as MetricStore, {
    ping: async () => {
      pings += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return store.ping();
    },
  });
  const r = await startReplica(counted);
  try {
    const before = pings;
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${r.base}/readyz`)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array<number>(20).fill(200),
    );
    assert.equal(pings - before, 1, '20 concurrent probes, one store check');
    assert.equal((await fetch(`${r.base}/readyz`)).status, 200);
    assert.equal(pings - before, 2, 'a probe after the round has ended checks again: nothing is reused');
  } finally {
    await r.stop();
  }
});

test('the app installs no signal handlers: shutdown is ordered by api/main.ts alone', async () => {
  // Apollo's default handler stopped GraphQL at SIGTERM and re-raised the signal: in-flight
  // requests failed and the process died before the drain, the consumer's commit and the store's close.
  const before = ['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s));
  const r = await startReplica(store);
  try {
    assert.deepEqual(
      ['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s)),
      before,
    );
  } finally {
    await r.stop();
  }
});

test('graceful drain: in-flight requests finish, new ones are refused, readiness says draining', async () => {
  const r = await startReplica(slowStore(store, 500));
  const token = r.token('customer', 't-1');
  const inFlight = post(`${r.base}/graphql`, token, series(cluster));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(r.server.gate.inFlight, 1);
  const drained = r.server.drain(5000);
  const late = await post(`${r.base}/graphql`, token, resources).then(
    (a) => a.status,
    () => 'refused',
  );
  assert.ok(late === 503 || late === 'refused', `a request after the drain began: ${late}`);
  const answer = await inFlight;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.errors, undefined);
  await drained;
  assert.equal(r.server.listening, false);
  await r.app.close();
});
