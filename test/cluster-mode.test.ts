import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { graphql, npmSeed, npmToken, startServer, type RunningServer } from './helpers/server-process.ts';

/**
 * STRATA_WORKERS=2: node:cluster workers behind one port. The primary owns the
 * DuckDB file and the aggregator; workers reach the store over IPC. The
 * answers must be those of a single process.
 */
const END = '2026-11-20T00:00:00Z';
const M = 'io.confluent.kafka.server/';
const env = { STRATA_NOW: END, STRATA_LOG_LEVEL: 'warn', STRATA_AGGREGATE_EVERY: '0' };
let dir: string;
let one: RunningServer;
let two: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-cluster-'));
  await npmSeed(join(dir, 'a.duckdb'), { seed: 11, tenants: 2, clusters: 2, topics: 2, partitions: 2, days: 2, end: END });
  copyFileSync(join(dir, 'a.duckdb'), join(dir, 'b.duckdb'));
  one = await startServer(join(dir, 'a.duckdb'), { ...env, STRATA_WORKERS: '1' });
  two = await startServer(join(dir, 'b.duckdb'), { ...env, STRATA_WORKERS: '2' });
});
after(async () => {
  await one?.stop();
  await two?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('two workers on one port answer exactly as one process, for every tenant and role', async () => {
  assert.match(two.output(), /with 2 worker processes/);
  const internal = npmToken(['--role', 'internal'], env);
  const list = await graphql(one.url, internal, '{ resources { id tenantId } }');
  const resources = (list.body.data?.['resources'] ?? []) as { id: string; tenantId: string }[];
  assert.ok(resources.length >= 4);
  for (const r of resources) {
    const token = npmToken(['--role', 'customer', '--tenant', r.tenantId], env);
    const query = `{ timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-30h/now", groupBy: ["topic"],
      filter: { field: "resource_id", op: EQ, value: "${r.id}" } }) { series { labels { key value } points { timestamp value } } plan { fragments { source interval } } } }`;
    // Several requests each, so both workers (round-robin) answer.
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([graphql(one.url, token, query), graphql(two.url, token, query)]);
      assert.equal(a.status, 200);
      assert.deepEqual(b.body, a.body);
    }
  }
  const usage = '{ usage(period: "now-1d|d/now|d", first: 10) { rows { tenantId resourceId day ingressBytes status } } }';
  const billing = npmToken(['--role', 'billing'], env);
  assert.deepEqual(
    (await graphql(two.url, billing, usage)).body,
    (await graphql(one.url, billing, usage)).body,
    'BigInt figures cross the IPC unchanged',
  );
});
