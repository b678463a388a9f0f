import { join } from 'node:path';
import { controlUrl, getJson, post, startBenchServer, type Child } from '../lib/children.ts';
import { FIXED_END, seed, twinOf, token } from '../lib/dataset.ts';
import type { ChartData, ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { startServices } from '../lib/services.ts';
import { fixed, percentile } from '../lib/stats.ts';
import { FIXED_CLOCK_ENV } from './cached-query.ts';

const M = 'io.confluent.kafka.server/received_bytes';
const SAMPLES = 30;

interface Target {
  readonly server: Child;
  readonly clusters: { id: string; tenantId: string }[];
}

const totalBody = (cluster: string): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}", granularity: ALL, interval: "now-24h/now", filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { series { points { value } } } }`,
  });

async function total(url: string, bearer: string, body: string): Promise<number> {
  const r = await post(url, bearer, body);
  const v = (JSON.parse(r.text) as { data?: { timeseries?: { series: { points: { value: number }[] }[] } } }).data?.timeseries?.series[0]
    ?.points[0]?.value;
  if (v === undefined) throw new Error(`freshness query failed: ${r.text.slice(0, 300)}`);
  return v;
}

/**
 * One sample: the answer is cached; late data lands and its event is
 * published; a client polls (back to back) until the answer includes it.
 * Returns ms from just before the publish to the first fresh answer.
 */
async function sample(t: Target, i: number): Promise<number> {
  const r = t.clusters[i % t.clusters.length]!;
  const bearer = token('customer', r.tenantId);
  const body = totalBody(r.id);
  const before = await total(t.server.url, bearer, body);
  await total(t.server.url, bearer, body); // cached now
  let freshAt = 0;
  let done = false;
  const late = getJson<{ publishedAt: number; value: number }>(`${controlUrl(t.server)}/late?tenant=${i % t.clusters.length}`, 'POST');
  let expected: number | undefined;
  void late.then((l) => (expected = before + l.value));
  const deadline = Date.now() + 30_000;
  while (!done) {
    const v = await total(t.server.url, bearer, body);
    if (expected !== undefined && v === expected) {
      freshAt = Date.now();
      done = true;
    } else if (v !== before && expected !== undefined) throw new Error(`unexpected total ${v} (before ${before}, expected ${expected})`);
    if (Date.now() > deadline) throw new Error('no fresh answer within 30 s');
  }
  return freshAt - (await late).publishedAt;
}

async function target(server: Child): Promise<Target> {
  const list = await post(server.url, token('internal'), JSON.stringify({ query: '{ resources { id tenantId } }' }));
  return { server, clusters: (JSON.parse(list.text) as { data: { resources: { id: string; tenantId: string }[] } }).data.resources };
}

/**
 * Scenario 4: publish → first fresh answer, on real Kafka and Redis (private
 * servers started here), side by side with the in-process bus and cache.
 */
export async function freshness(o: ScenarioOptions): Promise<ScenarioReport> {
  const fileK = join(o.dir, 'fresh-k.duckdb');
  seed(fileK, { seed: 13, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: FIXED_END });
  const fileM = twinOf(fileK, join(o.dir, 'fresh-m.duckdb'));
  const services = startServices();
  const servers: Child[] = [];
  try {
    const kafka = await startBenchServer(fileK, {
      ...FIXED_CLOCK_ENV,
      ...services.env,
      STRATA_CACHE: 'redis',
      STRATA_EVENTS: 'kafka',
      STRATA_KAFKA_TOPIC: `strata.bench.${Date.now()}`,
      STRATA_REPLICA_ID: `bench-${Date.now()}`,
      STRATA_REDIS_TIMEOUT: '500ms',
    });
    servers.push(kafka);
    const memory = await startBenchServer(fileM, FIXED_CLOCK_ENV);
    servers.push(memory);
    const [k, m] = [await target(kafka), await target(memory)];
    for (let i = 0; i < 3; i++) await sample(k, i); // consumer group joined, connections warm
    await sample(m, 0);
    const onKafka: number[] = [];
    const inProcess: number[] = [];
    for (let i = 3; i < SAMPLES + 3; i++) {
      onKafka.push(await sample(k, i));
      inProcess.push(await sample(m, i));
    }
    return report(onKafka, inProcess);
  } finally {
    for (const s of servers) await s.stop();
    services.stop();
  }
}

function report(kafka: number[], memory: number[]): ScenarioReport {
  const p = (xs: number[], q: number): string => fixed(percentile(xs, q), 0);
  return {
    id: 4,
    title: 'Freshness: aggregation event published → first fresh answer',
    target: 'p99 < 250 ms on Kafka + Redis',
    met: percentile(kafka, 0.99) < 250,
    figures: [
      ['', 'Kafka + Redis | in-process bus + memory cache'],
      ['samples', `${kafka.length} | ${memory.length}`],
      ['p50 ms', `${p(kafka, 0.5)} | ${p(memory, 0.5)}`],
      ['p99 ms (the slowest of 30)', `${p(kafka, 0.99)} | ${p(memory, 0.99)}`],
      ['max ms', `${p(kafka, 1)} | ${p(memory, 1)}`],
    ],
    notes: [
      'Each sample: a cached answer; late data lands in a closed hour, its rollup is rebuilt, the event is published (clock read just before the publish); one client polls back to back until the answer includes the late value. Samples alternate between the two servers.',
      'Kafka 3.9 and Redis are private servers started by the bench (scripts/kafka.sh, scripts/redis.sh with STRATA_IT_DIR=.it/bench) and stopped after.',
    ],
    charts: [chart(kafka, memory)],
  };
}

/** Every sample, sorted: the point at x % is the latency that x % of the samples did not exceed. */
function chart(kafka: number[], memory: number[]): ChartData {
  const ranked = (xs: number[]): [number, number][] => [...xs].sort((a, b) => a - b).map((ms, i) => [(100 * (i + 1)) / xs.length, ms]);
  return {
    id: 'scenario-4-freshness',
    title: '4. Freshness: publish → first fresh answer, every sample sorted',
    kind: 'line',
    x: { label: 'share of samples at or under the latency', unit: '%' },
    y: { label: 'latency', unit: 'ms' },
    series: [
      { name: 'Kafka + Redis', unit: 'ms', points: ranked(kafka) },
      { name: 'in-process bus + memory cache', unit: 'ms', points: ranked(memory) },
    ],
    target: { value: 250, label: 'target: p99 < 250 ms (Kafka + Redis)' },
  };
}
