import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { App } from '../../api/app.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { execute, principal, seededStore, testApp } from '../helpers/fixture.ts';
import { privateRedis } from '../helpers/services.ts';

/**
 * A cache outage never fails a query. A private redis-server (so the shared
 * one stays up) is paused with SIGSTOP and killed with SIGKILL while a load of
 * queries runs: every query answers, latency stays bounded by the command
 * timeout, and the cache recovers by itself when Redis is back.
 */
const TIMEOUT_MS = 50;
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let app: App;
let redis: Awaited<ReturnType<typeof privateRedis>>;
let clusters: string[];

before(async () => {
  redis = await privateRedis();
  store = await seededStore();
  app = await testApp(store, { STRATA_CACHE: 'redis', REDIS_URL: redis.url, STRATA_REDIS_TIMEOUT: `${TIMEOUT_MS}ms` });
  clusters = app.services.resources.list(undefined).map((r) => r.resourceId);
});
after(async () => {
  redis.stop();
  await app.close();
  await store.close();
});

const query = (
  i: number,
) => `{ timeseries(query: { metric: "${M}${i % 2 ? 'sent' : 'received'}_bytes", granularity: PT1H, interval: "now-${1 + (i % 6)}h/now",
  filter: { field: "resource_id", op: EQ, value: "${clusters[i % clusters.length]}" } }) { series { points { value } } } }`;

/** Runs `count` queries, `concurrency` at a time; returns latencies and failures. */
async function load(count: number, concurrency: number): Promise<{ latencies: number[]; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const r = await execute(app, principal('internal'), query(i));
      latencies.push(performance.now() - started);
      if (r.errors) failures.push(JSON.stringify(r.errors));
      await new Promise((res) => setTimeout(res, 5));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures };
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;

test('SIGSTOP then SIGKILL of Redis under load: zero failed queries, bounded p99, recovery', async () => {
  const baseline = await load(100, 4);
  assert.deepEqual(baseline.failures, []);
  const running = load(600, 4);
  await new Promise((r) => setTimeout(r, 300));
  redis.process.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 1500));
  redis.process.kill('SIGCONT');
  await new Promise((r) => setTimeout(r, 300));
  redis.process.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  const result = await running;
  assert.deepEqual(result.failures, [], 'no query may fail because the cache failed');
  assert.ok(app.services.loaders.totals.cacheUnavailable > 0, 'the outage was seen');
  // Each query makes at most two cache calls (one versioned lookup, one fill), each bounded by the timeout; plus store time.
  const budget = 3 * TIMEOUT_MS + 500;
  console.log(
    `redis faults: ${result.latencies.length} queries, p99 ${p99(result.latencies).toFixed(0)} ms (baseline p99 ${p99(baseline.latencies).toFixed(0)} ms, budget ${budget} ms)`,
  );
  assert.ok(p99(result.latencies) < budget, `p99 ${p99(result.latencies)} ms over the ${budget} ms budget`);
  // Redis comes back on the same port: the client reconnects by itself and the cache serves again.
  const revived = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(redis.port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  redis = { ...redis, process: revived, stop: () => revived.kill('SIGKILL') };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const unavailable = app.services.loaders.totals.cacheUnavailable;
    await execute(app, principal('internal'), query(1));
    const again = await execute(app, principal('internal'), query(1));
    if (app.services.loaders.totals.cacheUnavailable === unavailable && again.errors === undefined) break;
    assert.ok(Date.now() < deadline, 'the cache did not recover');
    await new Promise((r) => setTimeout(r, 200));
  }
});
