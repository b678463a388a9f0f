import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../config/config.ts';
import { graphql, npmSeed, npmToken, startServer, type RunningServer } from './helpers/server-process.ts';

/**
 * The real server process, tokens from `npm run token`, and answers checked
 * against SQL written here independently of Strata's own SQL.
 */
const END = '2026-11-20T00:00:00Z';
const M = 'io.confluent.kafka.server/';
const env = { STRATA_NOW: END, STRATA_LOG_LEVEL: 'warn', STRATA_AGGREGATE_EVERY: '0' };
let dir: string;
let db: string;
let server: RunningServer;
let clusters: Record<string, string[]>;
let expected: {
  bytesByTopic: Record<string, number>;
  maxRetainedDaily: number[];
  avgConnections: number;
  ingressDay: string;
  storageDay: string;
};
const tokens: Record<string, string> = {};

async function independentSql(): Promise<void> {
  const instance = await DuckDBInstance.create(db);
  const c = await instance.connect();
  const rows = async (sql: string): Promise<Record<string, unknown>[]> =>
    (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  clusters = {};
  for (const r of await rows('SELECT tenant_id, resource_id FROM resources ORDER BY 1, 2'))
    (clusters[String(r['tenant_id'])] ??= []).push(String(r['resource_id']));
  const k = clusters['t-1']?.[0];
  const window = `__time >= TIMESTAMP '2026-11-19 00:00:00' AND __time < TIMESTAMP '2026-11-20 00:00:00'`;
  const topicSums = await rows(
    `SELECT topic, sum(value) AS v FROM telemetry_raw WHERE resource_id = '${k}' AND metric = '${M}received_bytes' AND ${window} GROUP BY topic`,
  );
  const maxDaily = await rows(`SELECT d, max(s) AS v FROM (SELECT date_trunc('day', __time) AS d, __time, sum(value) AS s FROM telemetry_raw
      WHERE resource_id = '${k}' AND metric = '${M}retained_bytes' AND __time >= TIMESTAMP '2026-11-17' GROUP BY 1, 2) GROUP BY d ORDER BY d`);
  const avg = await rows(
    `SELECT sum(value) / count(DISTINCT __time) AS v FROM telemetry_raw WHERE resource_id = '${k}' AND metric = '${M}active_connection_count' AND ${window}`,
  );
  const usage = await rows(`SELECT CAST(sum(CASE WHEN metric = '${M}received_bytes' THEN CAST(value AS BIGINT) END) AS VARCHAR) AS ingress,
      CAST((sum(CASE WHEN metric = '${M}retained_bytes' THEN CAST(value AS BIGINT) END) + 30) // 60 AS VARCHAR) AS storage
    FROM telemetry_raw WHERE resource_id = '${k}' AND __time >= TIMESTAMP '2026-11-18' AND __time < TIMESTAMP '2026-11-19'`);
  expected = {
    bytesByTopic: Object.fromEntries(topicSums.map((r) => [String(r['topic']), Number(r['v'])])),
    maxRetainedDaily: maxDaily.map((r) => Number(r['v'])),
    avgConnections: Number(avg[0]?.['v']),
    ingressDay: String(usage[0]?.['ingress']),
    storageDay: String(usage[0]?.['storage']),
  };
  c.closeSync();
  instance.closeSync();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-e2e-'));
  db = join(dir, 'e2e.duckdb');
  await npmSeed(db, { seed: 11, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: END });
  await independentSql();
  server = await startServer(db, env);
  tokens['t1'] = npmToken(['--role', 'customer', '--tenant', 't-1'], env);
  tokens['t2'] = npmToken(['--role', 'customer', '--tenant', 't-2'], env);
  tokens['internal'] = npmToken(['--role', 'internal'], env);
  tokens['billing'] = npmToken(['--role', 'billing', '--ttl', '10m'], env);
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ts = (alias: string, metric: string, rest: string) =>
  `${alias}: timeseries(query: { metric: "${M}${metric}", ${rest} }) { series { labels { key value } points { timestamp value } } plan { fragments { source } } }`;
type Series = { labels: { key: string; value: string }[]; points: { timestamp: string; value: number }[] }[];
const seriesOf = (data: Record<string, unknown> | null | undefined, alias: string): Series => (data?.[alias] as { series: Series }).series;

test('answers match an independent SQL computation on the DuckDB file', async () => {
  const k = clusters['t-1']?.[0];
  const doc = `{ ${ts('bytes', 'received_bytes', `granularity: ALL, interval: "2026-11-19T00:00:00Z/2026-11-20T00:00:00Z", groupBy: ["topic"], filter: { field: "resource_id", op: EQ, value: "${k}" }`)}
    ${ts('maxDaily', 'retained_bytes', `aggregation: MAX, granularity: P1D, interval: "2026-11-17T00:00:00Z/2026-11-20T00:00:00Z", filter: { field: "resource_id", op: EQ, value: "${k}" }`)}
    ${ts('avg', 'active_connection_count', `aggregation: AVG, granularity: ALL, interval: "now-1d/now", filter: { field: "resource_id", op: EQ, value: "${k}" }`)} }`;
  const { status, body } = await graphql(server.url, tokens['t1'], doc);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const bytes = Object.fromEntries(seriesOf(body.data, 'bytes').map((s) => [s.labels[0]?.value, s.points[0]?.value]));
  assert.deepEqual(bytes, expected.bytesByTopic);
  assert.deepEqual(
    seriesOf(body.data, 'maxDaily')[0]?.points.map((p) => p.value),
    expected.maxRetainedDaily,
  );
  assert.equal(seriesOf(body.data, 'avg')[0]?.points[0]?.value, expected.avgConnections);
});

test('tenant A never sees tenant B: foreign clusters look missing, through aliases, cache and batching', async () => {
  const own = clusters['t-1']?.[0];
  const foreign = clusters['t-2']?.[0];
  const q = (k: string | undefined, alias = 'x') =>
    ts(alias, 'received_bytes', `granularity: PT1H, interval: "now-6h/now", filter: { field: "resource_id", op: EQ, value: "${k}" }`);
  // Warm the cache with tenant B's data first.
  const warm = await graphql(server.url, tokens['t2'], `{ ${q(foreign)} }`);
  assert.equal(warm.body.errors, undefined);
  const foreignTry = await graphql(server.url, tokens['t1'], `{ ${q(own, 'mine')} ${q(foreign, 'theirs')} }`);
  const missingTry = await graphql(server.url, tokens['t1'], `{ ${q('lkc-nope0', 'theirs')} }`);
  const err = foreignTry.body.errors?.[0];
  assert.equal(err?.extensions?.code, 'RESOURCE_NOT_FOUND');
  assert.equal(err?.message.replace(String(foreign), 'ID'), missingTry.body.errors?.[0]?.message.replace('lkc-nope0', 'ID'));
  assert.equal((foreignTry.body.data as Record<string, unknown> | null)?.['theirs'] ?? null, null);
  assert.ok(seriesOf(foreignTry.body.data, 'mine').length > 0);
  assert.ok(!JSON.stringify(foreignTry.body).includes(String(foreign)) || err?.message.includes(String(foreign)));
  // Identical documents from both tenants at once (batched on the server), each sees only its own.
  const [a, b] = await Promise.all([
    graphql(server.url, tokens['t1'], `{ ${q(own)} }`),
    graphql(server.url, tokens['t2'], `{ ${q(foreign)} }`),
  ]);
  assert.notDeepEqual(seriesOf(a.body.data, 'x'), seriesOf(b.body.data, 'x'));
  assert.deepEqual(seriesOf(b.body.data, 'x'), seriesOf(warm.body.data, 'x'));
  // Filters cannot widen the scope: an OR with a foreign cluster still needs the cluster to exist for the caller.
  const widen = await graphql(
    server.url,
    tokens['t1'],
    `{ ${ts('x', 'received_bytes', `granularity: ALL, interval: "now-6h/now", filter: { field: "resource_id", op: IN, values: ["${own}", "${foreign}"] }`)} }`,
  );
  assert.equal(widen.body.errors?.[0]?.extensions?.code, 'RESOURCE_NOT_FOUND');
  const resources = await graphql(server.url, tokens['t1'], '{ resources { id tenantId } }');
  assert.deepEqual(
    (resources.body.data?.['resources'] as { tenantId: string }[]).map((r) => r.tenantId),
    ['t-1', 't-1'],
  );
  const unfiltered = await graphql(
    server.url,
    tokens['t1'],
    `{ ${ts('x', 'received_bytes', 'granularity: ALL, interval: "now-6h/now"')} }`,
  );
  assert.equal(unfiltered.body.errors?.[0]?.extensions?.code, 'RESOURCE_FILTER_REQUIRED');
});

test('bad, expired and forged tokens get UNAUTHENTICATED (401)', async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = jwt.sign({ role: 'customer', tenant_id: 't-1', exp: now - 120, iat: now - 3600 }, DEV_JWT_SECRET, {
    algorithm: 'HS256',
    issuer: 'strata-dev',
    audience: 'strata-api',
  });
  const forged = jwt.sign({ role: 'internal' }, 'some-other-secret-of-enough-length-000', {
    algorithm: 'HS256',
    issuer: 'strata-dev',
    audience: 'strata-api',
    expiresIn: 600,
  });
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'internal', exp: now + 600 })).toString('base64url')}.`;
  for (const token of [undefined, 'garbage', expired, forged, none, `${tokens['t1']}x`]) {
    const { status, body } = await graphql(server.url, token, '{ metrics { name } }');
    assert.equal(status, 401, `token ${String(token).slice(0, 20)}`);
    assert.equal(body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(body.data, undefined);
  }
});

test('billing figures are exact integers, FINAL once the daily rollup is published and the lateness window has passed', async () => {
  const k = clusters['t-1']?.[0];
  const doc = `{ usage(period: "2026-11-17T00:00:00Z/2026-11-20T00:00:00Z", tenantId: "t-1", first: 10) {
    rows { tenantId resourceId day ingressBytes egressBytes storageByteHours partitionHours status } pageInfo { hasNextPage endCursor } } }`;
  const { body } = await graphql(server.url, tokens['billing'], doc);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const rows = (body.data?.['usage'] as { rows: Record<string, string>[] }).rows;
  assert.equal(rows.length, 6);
  for (const r of rows)
    for (const f of ['ingressBytes', 'egressBytes', 'storageByteHours', 'partitionHours']) assert.match(String(r[f]), /^\d+$/);
  const day = rows.find((r) => r['resourceId'] === k && r['day'] === '2026-11-18');
  assert.equal(day?.['ingressBytes'], expected.ingressDay);
  assert.equal(day?.['storageByteHours'], expected.storageDay);
  // now = 11-20 00:00, the daily rollup is built up to 11-19 00:00, late points are taken for 48 h:
  // 11-17 is closed both ways; 11-18 has its rollup, but points of it are still accepted until 11-21; 11-19 has neither.
  const statuses = Object.fromEntries(rows.filter((r) => r['resourceId'] === k).map((r) => [r['day'], r['status']]));
  assert.deepEqual(statuses, { '2026-11-17': 'FINAL', '2026-11-18': 'PROVISIONAL', '2026-11-19': 'PROVISIONAL' });
  const denied = await graphql(server.url, tokens['t1'], doc);
  assert.equal(denied.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const billingTs = await graphql(
    server.url,
    tokens['billing'],
    `{ ${ts('x', 'received_bytes', `granularity: ALL, interval: "now-1h/now", filter: { field: "resource_id", op: EQ, value: "${k}" }`)} }`,
  );
  assert.equal(billingTs.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

// Last: it stops the server. Apollo Server, left to itself, handled SIGTERM by stopping and
// re-raising the signal, which killed the process before the drain, the consumer's commit and
// the store's close (the DuckDB log was left behind).
// That the close folds the log into the file is shown in test/unit/duckdb-checkpoint.test.ts: the
// start-up catch-up's rebuilds already checkpoint as they commit, so no log is left to show it here.
test('SIGTERM drains and closes the store: the process says it stopped, no write-ahead log is left behind', async () => {
  // 'close': npm and the node process it started have both let go of the output pipe.
  const closed = once(server.process, 'close');
  process.kill(-(server.process.pid ?? 0), 'SIGTERM');
  await closed;
  assert.match(
    server.output(),
    /SIGTERM: draining requests and stopping\.[\s\S]*Stopped: requests drained, events committed, store closed\./,
  );
  assert.equal(existsSync(`${db}.wal`), false, 'the file is whole on its own');
});
