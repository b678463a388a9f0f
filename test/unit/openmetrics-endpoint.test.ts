import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { END, seededStore } from '../helpers/fixture.ts';
import { post, startReplica, type Replica } from '../helpers/edge-server.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';

/**
 * GET /export through the real node:http edge (in-process), over the seeded
 * fixture with STRATA_NOW fixed: the exported minute is 23:59-24:00 of 2026-11-19.
 */
const MINUTE = END - 60_000;
let store: DuckDbStore;
let edge: Replica;
let own: string[];
let foreign: string;

before(async () => {
  store = await seededStore();
  edge = await startReplica(store, { STRATA_EXPORT_MAX_CLUSTERS: '3' });
  own = edge.app.services.resources.list('t-1').map((r) => r.resourceId);
  foreign = edge.app.services.resources.list('t-2')[0]!.resourceId;
});

after(async () => {
  await edge.stop();
  await store.close();
});

async function scrape(query: string, token: string | undefined = edge.token('customer', 't-1'), init: RequestInit = {}) {
  const response = await fetch(`${edge.base}/export?${query}`, { ...init, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  const code = response.headers.get('content-type')?.startsWith('application/json')
    ? (JSON.parse(text) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code
    : undefined;
  return { status: response.status, headers: response.headers, text, code };
}

/** name{labels} value timestamp lines, keyed by name{labels}. */
function samples(text: string): Map<string, { value: number; ts: number }> {
  const out = new Map<string, { value: number; ts: number }>();
  for (const line of text.split('\n')) {
    const m = /^(\S+?(?:\{[^}]*\})?) (\S+) (\d+)$/.exec(line);
    if (m) out.set(m[1]!, { value: Number(m[2]), ts: Number(m[3]) * 1000 });
  }
  return out;
}

test('OpenMetrics text: one gauge family per metric, kafka_id and the metric labels, the last closed minute, # EOF', async () => {
  const r = await scrape(`resource.kafka.id=${own.join(',')}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.ok(r.text.endsWith('\n# EOF\n'));
  assert.match(r.text, /^# TYPE confluent_kafka_server_received_bytes gauge$/m);
  assert.match(r.text, /^# UNIT confluent_kafka_server_received_bytes bytes$/m);
  assert.equal((r.text.match(/^# TYPE /gm) ?? []).length, 9);
  const all = samples(r.text);
  assert.ok(all.size > 0);
  for (const { ts } of all.values()) assert.equal(ts, MINUTE);
  assert.ok([...all.keys()].some((k) => k.startsWith(`confluent_kafka_server_retained_bytes{kafka_id="${own[1]}",topic="`)));
  assert.ok([...all.keys()].every((k) => !k.includes(foreign)));
  assert.ok(r.headers.get('ratelimit'), 'the export spends from the same quotas as /graphql');
});

test('values equal the GraphQL answer for the same metric, cluster and minute', async () => {
  const r = await scrape(
    `resource.kafka.id=${own[0]}&metric=io.confluent.kafka.server/received_bytes,confluent_kafka_server_active_connection_count`,
  );
  assert.equal((r.text.match(/^# TYPE /gm) ?? []).length, 2);
  const exported = samples(r.text);
  const interval = `${new Date(MINUTE).toISOString()}/${new Date(END).toISOString()}`;
  const gql = await post(
    `${edge.base}/graphql`,
    edge.token('customer', 't-1'),
    JSON.stringify({
      query: `query($i: String!, $k: String!) {
      bytes: timeseries(query: {metric: "io.confluent.kafka.server/received_bytes", granularity: PT1M, interval: $i, filter: {field: "resource_id", op: EQ, value: $k}, groupBy: ["topic"]}) { series { labels { key value } points { timestamp value } } }
      conns: timeseries(query: {metric: "io.confluent.kafka.server/active_connection_count", granularity: PT1M, interval: $i, filter: {field: "resource_id", op: EQ, value: $k}}) { series { points { timestamp value } } }
    }`,
      variables: { i: interval, k: own[0] },
    }),
  );
  type S = { labels?: { key: string; value: string }[]; points: { timestamp: string; value: number }[] };
  const data = gql.body.data as { bytes: { series: S[] }; conns: { series: S[] } };
  assert.ok(data.bytes.series.length >= 2);
  for (const s of data.bytes.series) {
    const topic = s.labels?.find((l) => l.key === 'topic')?.value;
    assert.equal(exported.get(`confluent_kafka_server_received_bytes{kafka_id="${own[0]}",topic="${topic}"}`)?.value, s.points[0]?.value);
  }
  assert.equal(
    exported.get(`confluent_kafka_server_active_connection_count{kafka_id="${own[0]}"}`)?.value,
    data.conns.series[0]?.points[0]?.value,
  );
  assert.equal(data.conns.series[0]?.points[0]?.timestamp, new Date(MINUTE).toISOString());
});

test('a foreign cluster is answered exactly like a missing one; mixed with own clusters it exports nothing of it', async () => {
  const foreignOnly = await scrape(`resource.kafka.id=${foreign}`);
  const missing = await scrape('resource.kafka.id=lkc-nope0');
  assert.equal(foreignOnly.status, 404);
  assert.equal(foreignOnly.code, 'RESOURCE_NOT_FOUND');
  assert.equal(foreignOnly.text.replaceAll(foreign, 'ID'), missing.text.replaceAll('lkc-nope0', 'ID'));
  const mixed = await scrape(`resource.kafka.id=${own[0]},${foreign},lkc-nope0`);
  assert.equal(mixed.status, 200);
  const lines = mixed.text.split('\n').filter((l) => l.includes(foreign) || l.includes('lkc-nope0'));
  assert.deepEqual(lines, [
    `strata_export_resource_access_error{kafka_id="${foreign}"} 1 ${MINUTE / 1000}`,
    `strata_export_resource_access_error{kafka_id="lkc-nope0"} 1 ${MINUTE / 1000}`,
  ]);
  const internal = await scrape(`resource.kafka.id=${foreign}`, edge.token('internal'));
  assert.equal(internal.status, 200, 'internal may export any cluster');
  assert.ok(internal.text.includes(`kafka_id="${foreign}"`));
});

test('errors: 401 without a valid token, 403 for billing, 400 with a code for bad parameters, 405 for POST', async () => {
  const none = await scrape(`resource.kafka.id=${own[0]}`, '');
  assert.equal(none.status, 401);
  assert.equal(none.code, 'UNAUTHENTICATED');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await scrape(`resource.kafka.id=${own[0]}`, 'not.a.token')).status, 401);
  assert.equal((await scrape(`resource.kafka.id=${own[0]}`, edge.token('billing'))).code, 'FORBIDDEN');
  const cases: [string, number, string][] = [
    ['', 400, 'RESOURCE_FILTER_REQUIRED'],
    ['resource.kafka.id=a,b,c,d', 400, 'LIMIT_OUT_OF_RANGE'],
    [`resource.kafka.id=${own[0]}&metric=nope`, 400, 'UNKNOWN_METRIC'],
    [`resource.kafka.id=${own[0]}&match[]=up`, 400, 'BAD_REQUEST'],
    ['resource.kafka.id=%27%3B--', 400, 'BAD_REQUEST'],
  ];
  for (const [query, status, code] of cases) {
    const r = await scrape(query);
    assert.deepEqual([r.status, r.code], [status, code], query);
  }
  const posted = await fetch(`${edge.base}/export?resource.kafka.id=${own[0]}`, { method: 'POST' });
  assert.equal(posted.status, 405);
  assert.equal(posted.headers.get('allow'), 'GET, HEAD');
});

test('an export spends from the same per-token quota as /graphql', async () => {
  const limited = await startReplica(store, { STRATA_TOKEN_RATE_LIMIT: '2', STRATA_RATE_LIMIT: '0' });
  try {
    const token = limited.token('customer', 't-1');
    assert.equal((await post(`${limited.base}/graphql`, token, JSON.stringify({ query: '{ resources { id } }' }))).status, 200);
    const ok = await fetch(`${limited.base}/export?resource.kafka.id=${own[0]}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    await ok.text();
    const refused = await fetch(`${limited.base}/export?resource.kafka.id=${own[0]}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'RATE_LIMITED');
  } finally {
    await limited.stop();
  }
});

test('a metric over one pipeline page (1,000 series) is exported whole, page after page', async () => {
  const wide = await seededStore({ seed: 3, tenants: 1, clusters: 2, topics: 8, partitions: 70, days: 1, end: END });
  const big = await startReplica(wide);
  try {
    const clusters = big.app.services.resources.list('t-1').map((r) => r.resourceId);
    const r = await fetch(`${big.base}/export?resource.kafka.id=${clusters.join(',')}&metric=confluent_kafka_server_retained_bytes`, {
      headers: { authorization: `Bearer ${big.token('customer', 't-1')}` },
    });
    const text = await r.text();
    const lines = text.split('\n').filter((l) => l.startsWith('confluent_kafka_server_retained_bytes{'));
    // 2 clusters x 8 topics x 70 partitions, less the ~1% of series-minutes the seed leaves out.
    assert.ok(lines.length > 1000 && lines.length <= 1120, `${lines.length} series`);
    assert.equal(samples(text).size, lines.length, 'no series twice across pages');
    assert.ok(!text.includes('strata_export_truncated'));
  } finally {
    await big.stop();
    await wide.close();
  }
});
