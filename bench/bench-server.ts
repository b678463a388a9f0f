/**
 * node --import tsx bench/bench-server.ts DB_FILE
 * The app `npm start` serves (createApp + createHttpServer, configured from the
 * environment), plus what the bench needs from inside the process, on a second
 * loopback port that it prints as "CONTROL http://...":
 *   GET  /stats  RSS, heap, response-cache, piece-loader and listener counters
 *   POST /late   late raw data for one tenant in a closed hour, then that
 *                hour's rollup is rebuilt and its event published;
 *                answers { publishedAt (ms, just before publishing), hour, value }
 * With BENCH_EVENT_EVERY_MS > 0 it also does /late on its own at that period
 * (aggregation events arriving while dashboards refresh). Stops when its
 * stdin closes (the bench went away) or on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { createApp } from '../api/app.ts';
import { createHttpServer } from '../api/http-server.ts';
import { HOUR_MS } from '../catalog/catalog.ts';
import { loadConfig } from '../config/config.ts';
import { newAggregationEvent } from '../events/aggregation-event.ts';
import { newTraceparent } from '../observability/trace-context.ts';
import { alignDown } from '../planner/interval.ts';
import { MemoryCache } from '../cache/memory-cache.ts';
import { storeQueryFailures } from '../observability/metrics.ts';
import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { statusBytes } from './lib/rss-sampler.ts';

const M = 'io.confluent.kafka.server/';
const db = process.argv[2] ?? '';
const config = loadConfig(process.env, { STRATA_DB: db, PORT: '0' });
const store = await DuckDbStore.open(db);
// As api/main.ts does (STRATA_DUCKDB_MEMORY_MB, STRATA_DUCKDB_THREADS, UV_THREADPOOL_SIZE).
await store.limitResources(config.duckdb);
const app = await createApp(config, { store });
await app.aggregator.runOnce();
const server = createHttpServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const tenants = app.services.resources.list(undefined);
let injected = 0;

/**
 * Late data for one tenant's cluster in a closed hour (1 to 20 hours ago): the
 * hour's rollup is rebuilt, then an event names that tenant and metric (what
 * an upstream job knows about a late record), so other tenants keep their cache.
 */
async function lateData(tenantIndex: number): Promise<{ publishedAt: number; hour: number; value: number; resourceId: string }> {
  const r = tenants[tenantIndex % tenants.length];
  if (!r) throw new Error('no resources in the bench dataset');
  const hoursAgo = 1 + (injected % 20);
  const hour = alignDown(app.services.clock(), HOUR_MS) - hoursAgo * HOUR_MS;
  const value = 1000 + injected;
  injected += 1;
  await store.exec(
    `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), ?, ?, '${M}received_bytes', 'orders', NULL, NULL, NULL, NULL, ?)`,
    [hour + 60_000, r.tenantId, r.resourceId, value],
  );
  const interval = { start: hour, end: hour + HOUR_MS };
  await store.buildRollup('rollup_1h', interval);
  const publishedAt = Date.now();
  await app.bus.publish(newAggregationEvent('rollup_1h', interval, [r.tenantId], [`${M}received_bytes`], publishedAt), {
    traceparent: newTraceparent(),
  });
  return { publishedAt, hour, value, resourceId: r.resourceId };
}

async function stats(): Promise<Record<string, unknown>> {
  const memory = process.memoryUsage();
  // What DuckDB itself holds (buffer pool, query state), to tell it apart from the V8 heap in RSS.
  const duckdb = await store.read('SELECT CAST(sum(memory_usage_bytes) AS DOUBLE) AS bytes FROM duckdb_memory()', []);
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    // The part of heapTotal that is resident (V8 reserves pages it has not touched), to tell V8's share of RSS from native memory.
    heapPhysical: getHeapStatistics().total_physical_size,
    // RSS without the file-backed code pages (Linux, like the bench).
    rssAnon: statusBytes(readFileSync('/proc/self/status', 'utf8'), 'RssAnon'),
    // The bounded caches' own byte counts: a cache still filling towards its bound grows the heap without leaking.
    cacheBytes: app.cacheStore instanceof MemoryCache ? app.cacheStore.bytes : 0,
    responseCacheBytes: server.responses.bytes,
    external: memory.external,
    duckdb: Number(duckdb[0]?.['bytes'] ?? 0),
    responses: server.responses.stats,
    loaders: app.services.loaders.totals,
    listener: app.listener.stats,
    injected,
    reads: store.readStats,
    checkpoints: store.checkpointStats,
    // A store query that failed under the memory bounds (DuckDB's "Out of Memory", a timeout) is an answer lost.
    storeFailures: (await storeQueryFailures.get()).values.reduce((n, v) => n + v.value, 0),
  };
}

const control = createServer((req, res) => {
  const reply = (status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.url === '/stats') {
    stats().then(
      (body) => reply(200, body),
      (e: unknown) => reply(500, { error: String(e) }),
    );
    return;
  }
  if (req.url?.startsWith('/late') && req.method === 'POST') {
    const tenant = Number(new URL(req.url, 'http://x').searchParams.get('tenant') ?? 0);
    lateData(tenant).then(
      (r) => reply(200, r),
      (e: unknown) => reply(500, { error: String(e) }),
    );
    return;
  }
  reply(404, { error: 'GET /stats or POST /late?tenant=N' });
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

const every = Number(process.env['BENCH_EVENT_EVERY_MS'] ?? 0);
let busy = false;
const timer =
  every > 0
    ? setInterval(() => {
        if (busy) return;
        busy = true;
        lateData(injected * 7)
          .finally(() => (busy = false))
          .catch((e: unknown) => console.error('late data failed', e));
      }, every)
    : undefined;

const address = (s: { address(): unknown }): number => {
  const a = s.address();
  return typeof a === 'object' && a && 'port' in a ? Number(a.port) : 0;
};
console.log(`CONTROL http://127.0.0.1:${address(control)}`);
console.log(`GraphQL: http://127.0.0.1:${address(server)}/graphql`);

let stopping = false;
async function stop(): Promise<void> {
  // Once: the bench signals the whole process group, and stdin closes too.
  if (stopping) return;
  stopping = true;
  if (timer) clearInterval(timer);
  control.close();
  await server.drain(2000);
  await app.close();
  await store.close();
  process.exit(0);
}
process.stdin.on('end', () => void stop()).resume();
process.on('SIGTERM', () => void stop());
