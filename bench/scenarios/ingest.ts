import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, post, runLoad, runToEnd, startBenchServer } from '../lib/children.ts';
import { seed, twinOf, token } from '../lib/dataset.ts';
import type { BulkWriteResult, BulkWriteSpec } from '../lib/bulk-write.ts';
import { EndlessFeed, encodeAll, type Feed, replay } from '../lib/ingest-feed.ts';
import { IngestProbe, collectorToken } from '../lib/ingest-probe.ts';
import { type IngestResults, ingestReport, type Pair } from '../lib/ingest-report.ts';
import { type BenchCluster, MINUTE_MS, type SeriesLayout, seriesCount } from '../lib/otlp-bodies.ts';
import { push, type PushResult } from '../lib/otlp-push.ts';
import type { ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { sampleRss } from '../lib/rss-sampler.ts';
import { sleep } from '../lib/stats.ts';
import { BENCH_EDGE_ENV } from './cached-query.ts';
import { dashboardRequests } from './dashboard-replay.ts';

/** The target rate: a round pushes as many points as it would take --round seconds at it. */
export const TARGET_POINTS_PER_S = 200_000;
/**
 * Eight senders of 4,000 points per request (an OTel collector's batch is
 * typically a few thousand): 32,000 points in flight, more than one group
 * commit (GROUP_POINTS, 20,000), so a group is always waiting while one is
 * written, and within a collector's share of the write queue (a quarter of
 * STRATA_OTLP_QUEUE_POINTS, 50,000 by default).
 */
const SHARDS = 8;
const SHARD_SIZE = 4000;
/** Throughput rounds per variant (server and bare store alternating); the medians are the figures. */
const ROUNDS = 3;
/** Latency samples under push and at idle. */
const SAMPLES = 50;
/** Samples of a dashboard's view (the same query refreshed): each waits out a cache TTL, so only a few. */
const CACHED_SAMPLES = 5;
/** Dashboards refreshing during the long push (autocannon connections, as scenario 2 runs them but fewer). */
const DASHBOARD_CONNECTIONS = 4;

/**
 * The server as a user runs it with the demo feed off, the bench's edge
 * limits (the rate limiter is not what is measured), warnings only, no
 * aggregator run after start.
 */
const SERVER_ENV: Record<string, string> = {
  ...BENCH_EDGE_ENV,
  STRATA_DEMO_FEED: 'off',
  STRATA_LOG_LEVEL: 'warn',
  STRATA_AGGREGATE_EVERY: '0',
};

/**
 * Registered clusters and a little history that ends two days before
 * today: the rollups' watermarks stop there, so every point the bench pushes
 * (within the last 46 h) lands past them, in raw data no rollup covers yet,
 * as live telemetry does. Reused within a day (its end moves daily).
 */
function ingestDataset(dir: string): string {
  const file = join(dir, 'ingest-base.duckdb');
  const end = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000).toISOString();
  seed(file, { seed: 29, tenants: 4, clusters: 2, topics: 2, partitions: 1, days: 1, end }, true);
  return file;
}

interface Served {
  readonly server: Child;
  readonly clusters: BenchCluster[];
  stop(): Promise<void>;
}

/** A server over a fresh copy of the dataset; stop() also deletes the copy (a long push writes gigabytes). */
async function freshServer(base: string, dir: string, name: string): Promise<Served> {
  const file = twinOf(base, join(dir, `ingest-${name}.duckdb`));
  const server = await startBenchServer(file, SERVER_ENV);
  const list = await post(server.url, token('internal'), JSON.stringify({ query: '{ resources { id tenantId } }' }));
  const clusters = (JSON.parse(list.text) as { data: { resources: BenchCluster[] } }).data.resources;
  return {
    server,
    clusters,
    async stop() {
      await server.stop();
      for (const f of [file, `${file}.wal`]) rmSync(f, { force: true });
    },
  };
}

/** The bare store's bulk write of the rows `steps` steps of `layout` derive to, in a child process. */
async function bulkWrite(dir: string, layout: SeriesLayout, steps: number): Promise<BulkWriteResult> {
  const spec: BulkWriteSpec = { file: join(dir, 'ingest-bare.duckdb'), layout, steps, prefix: '' };
  const specFile = join(tmpdir(), `strata-bench-bulk-${process.pid}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  try {
    const out = await runToEnd(process.execPath, ['--import', 'tsx', 'bench/lib/bulk-write.ts', specFile], 'bulk write');
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as BulkWriteResult;
  } finally {
    for (const f of [spec.file, `${spec.file}.wal`, specFile]) rmSync(f, { force: true });
  }
}

/**
 * Rounds of one layout: a push of every pre-encoded body to a fresh server,
 * then the bare store's bulk write of the same rows, alternating (A B A B...)
 * so both see the machine's noise alike.
 */
async function throughput(o: ScenarioOptions, base: string, clusters: BenchCluster[], stepMs: number, rounds: number): Promise<Pair[]> {
  const steps = Math.max(2, Math.ceil((o.roundS * TARGET_POINTS_PER_S) / (SHARDS * SHARD_SIZE)));
  // Minutes that end 5 minutes before now: inside the lateness window and never in the future.
  const minutes = Math.ceil((steps * stepMs) / MINUTE_MS);
  const t0Ms = (Math.floor(Date.now() / MINUTE_MS) - minutes - 5) * MINUTE_MS;
  const layout: SeriesLayout = { clusters, shards: SHARDS, shardSize: SHARD_SIZE, t0Ms, stepMs };
  const encoded = encodeAll(layout, steps, '');
  const pairs: Pair[] = [];
  for (let r = 0; r < rounds; r++) {
    const served = await freshServer(base, o.dir, 'rounds');
    let strata: PushResult;
    try {
      strata = await push(served.server.url, collectorToken('bench-collector'), SHARDS, replay(encoded, SHARD_SIZE));
    } finally {
      await served.stop();
    }
    if (strata.accepted !== steps * seriesCount(layout))
      throw new Error(`${strata.accepted} points accepted of ${steps * seriesCount(layout)}`);
    const bare = await bulkWrite(o.dir, layout, steps);
    progress(
      `round ${r + 1}: Strata ${Math.round(strata.accepted / strata.seconds)} points/s, bare store ${Math.round(bare.points / bare.seconds)}`,
    );
    pairs.push({ strata, bare });
  }
  return pairs;
}

/** An endless push at full speed from SHARDS senders, until its feed is stopped. */
function pushEndless(url: string, stepMs: number, clusters: BenchCluster[]): { feed: EndlessFeed; done: Promise<PushResult> } {
  const feed = new EndlessFeed({ clusters, shards: SHARDS, shardSize: SHARD_SIZE, stepMs });
  const next: Feed = feed.next;
  return { feed, done: push(url, collectorToken('bench-collector'), SHARDS, next) };
}

/** Push-to-queryable latency while a push runs at full speed, then at idle on the same server. */
async function latency(o: ScenarioOptions, base: string): Promise<IngestResults['latency']> {
  const served = await freshServer(base, o.dir, 'latency');
  try {
    const probe = new IngestProbe(served.server.url, served.clusters[0]!, 'probe');
    await probe.samples('fresh', 3, 100); // connections open, statements prepared
    const pushing = pushEndless(served.server.url, MINUTE_MS, served.clusters);
    let underPush: number[];
    try {
      await sleep(2000); // the write queue filled
      underPush = await probe.samples('fresh', SAMPLES, 100);
    } finally {
      pushing.feed.stop();
    }
    const pushed = await pushing.done;
    const idle = await probe.samples('fresh', SAMPLES, 100);
    const cached = await probe.samples('cached', CACHED_SAMPLES, 100);
    probe.close();
    return { underPush, idle, cached, pushed };
  } finally {
    await served.stop();
  }
}

/** The long push (--duration) with dashboards refreshing and a probe sampling, the server's RSS read every second. */
async function memory(o: ScenarioOptions, base: string): Promise<IngestResults['memory']> {
  const served = await freshServer(base, o.dir, 'memory');
  try {
    const requests = await dashboardRequests(served.server);
    const probe = new IngestProbe(served.server.url, served.clusters[0]!, 'probe');
    const rss = sampleRss(served.server.process.pid ?? 0);
    await sleep(2000); // the idle server's RSS before the push
    const deadline = Date.now() + o.soakS * 1000;
    const pushing = pushEndless(served.server.url, MINUTE_MS, served.clusters);
    const dashboards = runLoad({
      url: `${served.server.url}/graphql`,
      connections: DASHBOARD_CONNECTIONS,
      durationS: o.soakS,
      seed: 71,
      requests,
    });
    let latencies: number[];
    try {
      latencies = await probe.samples('fresh', Number.POSITIVE_INFINITY, 1000, () => Date.now() > deadline);
      while (Date.now() < deadline) await sleep(200);
    } finally {
      pushing.feed.stop();
    }
    const pushed = await pushing.done;
    const load = await dashboards;
    await sleep(2000);
    probe.close();
    return { rss: rss.stop(), pushed, load, latencies, rollovers: pushing.feed.rollovers, seconds: o.soakS };
  } finally {
    await served.stop();
  }
}

/** On stderr: the scenario takes minutes, and the report comes only at its end. */
const progress = (phase: string): void => console.error(`scenario 7: ${phase}…`);

/**
 * Scenario 7: OTLP ingest. Throughput against the bare store's own bulk
 * write of the same rows (side by side, alternating), for a collector
 * (a point per series per minute) and an SDK (every 10 s); push-to-queryable
 * latency under a full-speed push and at idle; RSS over a --duration push
 * with dashboards refreshing.
 */
export async function ingest(o: ScenarioOptions): Promise<ScenarioReport> {
  const base = ingestDataset(o.dir);
  const first = await freshServer(base, o.dir, 'clusters');
  const clusters = first.clusters;
  await first.stop();
  progress('throughput, a point per series per minute');
  const collector = await throughput(o, base, clusters, MINUTE_MS, ROUNDS);
  progress('throughput, six points per series per minute');
  const sdk = await throughput(o, base, clusters, 10_000, 1);
  progress('push-to-queryable latency');
  const lat = await latency(o, base);
  progress(`memory over a ${o.soakS} s push with dashboards`);
  const mem = await memory(o, base);
  return ingestReport({ collector, sdk, latency: lat, memory: mem, shards: SHARDS, shardSize: SHARD_SIZE });
}
