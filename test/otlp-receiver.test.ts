import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OTLP } from '../api/otlp/otlp-schema.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { startReplica, type Replica } from './helpers/edge-server.ts';
import { END, seededStore } from './helpers/fixture.ts';

/**
 * POST /v1/metrics on the real edge (127.0.0.1): both encodings, gzip,
 * partial_success, the refusals, a foreign cluster never stored and a
 * repeated request never counted twice.
 */
const M = 'io.confluent.kafka.server/';
const NOW = END + 3_600_000; // an hour past the seeded data: these minutes are fresh tail
const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;
let store: DuckDbStore;
let replica: Replica;
let own: string; // a cluster of t-1
let foreign: string; // a cluster of t-2
let third: string; // a cluster of t-3, written by one test only

before(async () => {
  store = await seededStore();
  replica = await startReplica(store, {
    STRATA_NOW: new Date(NOW).toISOString(),
    STRATA_OTLP_MAX_BODY_BYTES: '65536',
    STRATA_OTLP_MAX_SERIES_PER_TENANT: '20',
  });
  const clusters = await store.listResources({ kind: 'all' });
  own = clusters.find((c) => c.tenantId === 't-1')?.resourceId ?? '';
  foreign = clusters.find((c) => c.tenantId === 't-2')?.resourceId ?? '';
  third = clusters.find((c) => c.tenantId === 't-3')?.resourceId ?? '';
});
after(async () => {
  await replica.stop();
  await store.close();
});

const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
const point = (ms: number, value: number, startMs = NOW - 600_000, attributes = [kv('topic', 'otlp-a')]) => ({
  attributes,
  startTimeUnixNano: ns(startMs),
  timeUnixNano: ns(ms),
  asInt: String(value),
});
const sum = (name: string, points: unknown[], temporality = 2) => ({
  name: M + name,
  sum: { dataPoints: points, aggregationTemporality: temporality, isMonotonic: true },
});
const request = (cluster: string, metrics: unknown[], attribute = 'kafka.cluster.id') => ({
  resourceMetrics: [{ resource: { attributes: [kv('service.name', 'test'), kv(attribute, cluster)] }, scopeMetrics: [{ metrics }] }],
});

async function push(body: unknown, token: string | undefined, encoding: 'json' | 'protobuf' = 'json', gzip = false) {
  let bytes: Uint8Array =
    encoding === 'json' ? Buffer.from(JSON.stringify(body)) : OTLP.request.encode(OTLP.request.fromObject(body as object)).finish();
  if (gzip) bytes = gzipSync(bytes);
  const headers: Record<string, string> = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' };
  if (gzip) headers['content-encoding'] = 'gzip';
  if (token) headers['authorization'] = `Bearer ${token}`;
  const response = await fetch(`${replica.base}/v1/metrics`, { method: 'POST', headers, body: new Uint8Array(bytes) });
  const raw = Buffer.from(await response.arrayBuffer());
  const decoded =
    encoding === 'json'
      ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>)
      : (response.status === 200 ? OTLP.response : OTLP.status).toObject(
          (response.status === 200 ? OTLP.response : OTLP.status).decode(raw),
          { longs: String },
        );
  return { status: response.status, headers: response.headers, body: decoded };
}

async function raw(cluster: string, metric: string, topic: string): Promise<{ m: number; value: number }[]> {
  const rows = await store.read(
    `SELECT CAST(epoch_ms(__time) AS BIGINT) AS m, value FROM telemetry_raw WHERE resource_id = ? AND metric = ? AND topic = ? ORDER BY 1`,
    [cluster, M + metric, topic],
  );
  return rows.map((r) => ({ m: Number(r['m']) - NOW, value: Number(r['value']) }));
}

test('JSON: a collector writes cumulative counters as per-minute deltas, and the answer is an empty ExportMetricsServiceResponse', async () => {
  const body = request(own, [sum('received_bytes', [point(NOW - 300_000, 100), point(NOW - 240_000, 160), point(NOW - 180_000, 200)])]);
  const answer = await push(body, replica.token('collector'));
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, {});
  assert.deepEqual(await raw(own, 'received_bytes', 'otlp-a'), [
    { m: -300_000, value: 100 },
    { m: -240_000, value: 60 },
    { m: -180_000, value: 40 },
  ]);
});

test('protobuf with gzip, and Confluent’s resource.kafka.id: the answer is protobuf too', async () => {
  const gauge = {
    name: `${M}retained_bytes`,
    gauge: {
      dataPoints: [
        point(NOW - 120_000, 7, 0, [kv('topic', 'otlp-b'), kv('partition', '0'), kv('host', 'dropped')]),
        point(NOW - 90_000, 9, 0, [kv('topic', 'otlp-b'), kv('partition', '0')]),
      ],
    },
  };
  const answer = await push(request(own, [gauge], 'resource.kafka.id'), replica.token('collector'), 'protobuf', true);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('content-type'), 'application/x-protobuf');
  assert.deepEqual(answer.body, {});
  assert.deepEqual(await raw(own, 'retained_bytes', 'otlp-b'), [{ m: -120_000, value: 9 }], 'the last sample of the minute is its level');
});

test('a repeated request is not counted twice (a retry after a lost answer)', async () => {
  const body = request(own, [sum('sent_bytes', [point(NOW - 60_000, 5, NOW - 120_000), point(NOW - 50_000, 7, NOW - 60_000)], 1)]);
  for (let i = 0; i < 3; i++) assert.equal((await push(body, replica.token('collector'))).status, 200);
  assert.deepEqual(await raw(own, 'sent_bytes', 'otlp-a'), [{ m: -60_000, value: 12 }]);
});

test('partial_success: unknown metrics, histograms, non-finite, too old, too far ahead and a foreign cluster are refused and counted', async () => {
  const token = replica.token('customer', 't-1');
  const good = sum('received_records', [point(NOW - 60_000, 10)]);
  const bad = [
    sum('no_such_metric', [point(NOW - 60_000, 1)]),
    { name: `${M}received_bytes`, histogram: { dataPoints: [{}, {}], aggregationTemporality: 2 } },
    sum('received_records', [{ ...point(NOW - 50_000, 0), asInt: undefined, asDouble: 'NaN' }]),
    sum('received_records', [point(NOW - 8 * 86_400_000, 1, NOW - 9 * 86_400_000)]),
    sum('received_records', [point(NOW + 3_600_000, 1)]),
  ];
  const answer = await push(
    {
      resourceMetrics: [
        ...request(own, [good, ...bad]).resourceMetrics,
        ...request(foreign, [sum('received_records', [point(NOW - 60_000, 99)])]).resourceMetrics,
      ],
    },
    token,
  );
  assert.equal(answer.status, 200);
  const partial = answer.body['partialSuccess'] as { rejectedDataPoints: string; errorMessage: string };
  assert.equal(partial.rejectedDataPoints, '7');
  for (const reason of [
    'not in the catalog',
    'Histogram',
    'not finite',
    'older than the lateness window \\(48 h, STRATA_OTLP_MAX_LATENESS\\)',
    'ahead of the server',
    'not writable with this token',
  ])
    assert.match(partial.errorMessage, new RegExp(reason), reason);
  assert.deepEqual(await raw(own, 'received_records', 'otlp-a'), [{ m: -60_000, value: 10 }]);
  assert.deepEqual(await raw(foreign, 'received_records', 'otlp-a'), [], "a foreign cluster's point is never stored");
  const counted = await (await fetch(`${replica.base}/metrics`)).text();
  assert.match(counted, /^strata_otlp_points_total\{outcome="refused"\} ([1-9]\d*)$/m, 'the server counts refused points (/metrics)');
  assert.match(counted, /^strata_otlp_points_total\{outcome="accepted"\} ([1-9]\d*)$/m);
  const points = await store.read('SELECT count(*) AS n FROM ingest_series WHERE resource_id = ?', [foreign]);
  assert.equal(points[0]?.['n'], 0n);
});

test('refusals: 400 undecodable, 401 without a token, 403 for reading roles, 413 over the body limit, 415 other types', async () => {
  const collector = replica.token('collector');
  const post = (body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${replica.base}/v1/metrics`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const proto = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${collector}` };
  const bad = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), proto);
  assert.equal(bad.status, 400);
  assert.match(
    OTLP.status.toObject(OTLP.status.decode(Buffer.from(await bad.arrayBuffer())))['message'],
    /not an ExportMetricsServiceRequest/,
  );
  assert.equal((await post('{', { 'content-type': 'application/json', authorization: `Bearer ${collector}` })).status, 400);
  assert.equal((await post('[1]', { 'content-type': 'application/json', authorization: `Bearer ${collector}` })).status, 400);
  const none = await push(request(own, []), undefined);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  for (const role of ['internal', 'billing'] as const) assert.equal((await push(request(own, []), replica.token(role))).status, 403, role);
  const bomb = gzipSync(Buffer.alloc(1_000_000, 0x20));
  const big = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${collector}` });
  assert.equal(big.status, 413);
  assert.equal((await post('x', { 'content-type': 'text/plain', authorization: `Bearer ${collector}` })).status, 415);
  const read = await fetch(`${replica.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${collector}` },
    body: '{"query":"{ resources { id } }"}',
  });
  assert.equal(read.status, 403, 'a collector token reads nothing');
  const exported = await fetch(`${replica.base}/export?resource.kafka.id=${own}`, { headers: { authorization: `Bearer ${collector}` } });
  assert.equal(exported.status, 403, 'nor exports');
});

test("a tenant's series are bounded (STRATA_OTLP_MAX_SERIES_PER_TENANT): points of new series past it are refused, saying so", async () => {
  const topics = Array.from({ length: 25 }, (_, i) => point(NOW - 60_000, 1, NOW - 600_000, [kv('topic', `many-${i}`)]));
  const answer = await push(request(third, [sum('sent_bytes', topics, 1)]), replica.token('collector'));
  assert.equal(answer.status, 200);
  const partial = answer.body['partialSuccess'] as { rejectedDataPoints: string; errorMessage: string };
  assert.equal(partial.rejectedDataPoints, '5');
  assert.match(
    partial.errorMessage,
    /5 data points refused: new series past the tenant's limit of 20 series \(STRATA_OTLP_MAX_SERIES_PER_TENANT\)/,
  );
});
