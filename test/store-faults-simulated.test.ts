import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { MetricStore } from '../store/metric-store.ts';
import { DruidStore } from '../store/druid/druid-store.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { seededStore } from './helpers/fixture.ts';
import { post, startReplica, type Replica } from './helpers/edge-server.ts';
import { freePort } from './helpers/services.ts';

/**
 * Simulated store faults (no real Druid here: see test/real/druid-conformance
 * for cancellation and errors of a real cluster). The store goes down or hangs
 * under a running service: the real Druid store adapter is pointed at a closed
 * loopback port (connection refused) and at a listener that accepts and never
 * answers (a hung broker): errors come back
 * as UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT within the deadline, pieces with
 * a last good copy are served flagged `stale`, and the circuit breaker stops
 * calling a failing store, then closes again once it recovers.
 */
const M = 'io.confluent.kafka.server/';
let duck: DuckDbStore;
let cluster: string;
let blackHole: Server;
const sockets: Socket[] = [];

/** Answers from DuckDB until switched to a broken Druid; counts piece queries. */
class SwitchableStore {
  current: MetricStore;
  calls = 0;
  constructor(readonly healthy: MetricStore) {
    this.current = healthy;
  }
  asStore(): MetricStore {
    const self = this;
    const store: MetricStore = Object.create(this.healthy) as MetricStore;
    return Object.assign(store, {
      queryPieces(request: Parameters<MetricStore['queryPieces']>[0]) {
        self.calls++;
        return self.current.queryPieces(request);
      },
    });
  }
}

const query = (hours: number): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-${hours}h/now", groupBy: ["topic"],
      filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { stale series { labels { value } points { timestamp value } } } }`,
  });

before(async () => {
  duck = await seededStore();
  const [row] = await duck.read(`SELECT resource_id FROM resources WHERE tenant_id = 't-1' ORDER BY 1 LIMIT 1`, []);
  cluster = String(row?.['resource_id']);
  blackHole = createServer((socket) => void sockets.push(socket));
  blackHole.listen(0, '127.0.0.1');
  await once(blackHole, 'listening');
});
after(async () => {
  for (const s of sockets) s.destroy();
  blackHole.close();
  await duck.close();
});

/** Whole-answer replay is off here: these tests drop cache entries directly, not through an event. */
const NO_REPLAY = { STRATA_RESPONSE_CACHE_TTL: '0' } as const;

async function invalidateAll(r: Replica): Promise<void> {
  await r.app.resultCache.invalidate(['t:t-1'], [`${M}received_bytes`], { start: 0, end: Date.parse('2026-11-21T00:00:00Z') });
}

test('store down: UPSTREAM_UNAVAILABLE at once, cached pieces served stale, the breaker opens and closes again', async () => {
  const switchable = new SwitchableStore(duck);
  const r = await startReplica(switchable.asStore(), { ...NO_REPLAY, STRATA_BREAKER_RESET: '1s' });
  try {
    const token = r.token('customer', 't-1');
    const fresh = await post(`${r.base}/graphql`, token, query(6));
    assert.equal(fresh.status, 200);
    await invalidateAll(r); // the entries are gone; only the last good copies remain

    switchable.current = new DruidStore({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 });
    const stale = await post(`${r.base}/graphql`, token, query(6));
    assert.equal(stale.status, 200);
    const staleData = stale.body.data as { timeseries: { stale: boolean; series: unknown } };
    assert.equal(staleData.timeseries.stale, true);
    assert.deepEqual(staleData.timeseries.series, (fresh.body.data as { timeseries: { series: unknown } }).timeseries.series);

    const started = performance.now();
    const missing = await post(`${r.base}/graphql`, token, query(9));
    const ms = performance.now() - started;
    assert.equal(missing.code, 'UPSTREAM_UNAVAILABLE', JSON.stringify(missing.body));
    console.log(`# store down: UPSTREAM_UNAVAILABLE after ${ms.toFixed(0)} ms`);

    for (let i = 0; i < 6; i++) await post(`${r.base}/graphql`, token, query(10 + i));
    const callsWhenOpen = switchable.calls;
    const refused = await post(`${r.base}/graphql`, token, query(20));
    assert.equal(refused.code, 'UPSTREAM_UNAVAILABLE');
    assert.match(refused.body.errors?.[0]?.message ?? '', /stopped calling it/);
    assert.equal(switchable.calls, callsWhenOpen, 'an open breaker does not call the store');

    switchable.current = duck;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const recovered = await post(`${r.base}/graphql`, token, query(20));
    assert.equal(recovered.status, 200);
    assert.equal((recovered.body.data as { timeseries: { stale: boolean } }).timeseries.stale, false);
  } finally {
    await r.stop();
  }
});

test('store hangs: UPSTREAM_TIMEOUT at the deadline, stale where a copy exists, the hung query abandoned', async () => {
  const switchable = new SwitchableStore(duck);
  const r = await startReplica(switchable.asStore(), { ...NO_REPLAY, STRATA_QUERY_TIMEOUT: '800ms' });
  try {
    const token = r.token('customer', 't-1');
    assert.equal((await post(`${r.base}/graphql`, token, query(5))).status, 200);
    await invalidateAll(r);
    const address = blackHole.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    switchable.current = new DruidStore({ url: `http://127.0.0.1:${port}`, timeoutMs: 500 });

    const stale = await post(`${r.base}/graphql`, token, query(5));
    assert.equal((stale.body.data as { timeseries: { stale: boolean } }).timeseries.stale, true);
    const started = performance.now();
    const timedOut = await post(`${r.base}/graphql`, token, query(7));
    console.log(`# store hung: ${timedOut.code} after ${(performance.now() - started).toFixed(0)} ms (store timeout 500 ms)`);
    assert.equal(timedOut.code, 'UPSTREAM_TIMEOUT', JSON.stringify(timedOut.body));
  } finally {
    await r.stop();
  }
});
