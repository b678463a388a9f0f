/**
 * npm start [-- --db FILE] [-- --port N]
 * Serves GraphQL. By default on the embedded store: a DuckDB file (generated
 * with demo data on first start, reused after), the in-process cache and bus.
 * STRATA_STORE=druid, STRATA_CACHE=redis, STRATA_EVENTS=kafka select the
 * production components.
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
// First of the product's modules: a registry file with a mistake then stops the start with its message alone.
import { importsLoaded } from './import-problems.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createApp } from './app.ts';
import { storeFromConfig } from './compose.ts';
import { runPrimary, workerBus, workerConfig, workerStore } from './cluster.ts';
import { createHttpServer } from './http-server.ts';
import { startupProblem } from './startup-problem.ts';
import { aggregateOnSchedule } from '../aggregator/aggregation-schedule.ts';
import { mintDevToken } from '../auth/mint-token.ts';
import { startDemoFeed } from '../demo/demo-feed.ts';
import type { MetricStore } from '../store/metric-store.ts';

importsLoaded();
const { values } = parseArgs({ options: { db: { type: 'string' }, port: { type: 'string' } }, strict: true });

async function main(): Promise<void> {
  const config = loadConfig(process.env, { ...(values.db ? { STRATA_DB: values.db } : {}), ...(values.port ? { PORT: values.port } : {}) });
  if (config.workers > 1 && cluster.isPrimary) return primary(config);
  // A cluster worker serves HTTP only: the primary owns the DuckDB file and runs the aggregator (api/cluster.ts).
  const worker = cluster.isWorker;
  const store = worker && config.store.kind === 'duckdb' ? workerStore() : await storeFromConfig(config, values.db);
  const app = await createApp(workerConfig(config), { store, ...(worker && config.events.kind === 'memory' ? { bus: workerBus() } : {}) });
  // Workers serve HTTP only: the primary aggregates (api/cluster.ts).
  const schedule = worker
    ? undefined
    : aggregateOnSchedule(app.aggregator, config.aggregateEveryMs, (e) => app.log.error('aggregator failed', { error: String(e) }));
  const caughtUp = await (schedule?.first ?? Promise.resolve([])).catch((e: unknown) => {
    throw startupProblem(config, e);
  });
  const server = createHttpServer(app);
  // A deep accept queue: a burst of new connections (a flood, a fleet reconnecting) waits to be
  // accepted instead of having its SYNs dropped, which would cost everyone's new connections 1-3 s.
  await new Promise<void>((resolve) => server.listen({ port: config.port, host: config.host, backlog: 4096 }, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (!worker) announce(config, `${sourceOf(config)} (${caughtUp.length} aggregation events published at start-up)`, port);
  const feed = config.demoFeed.enabled && !worker ? await demoFeed(config, store, port) : undefined;
  stopOnSignals(config, 'draining requests and stopping', async () => {
    schedule?.stop();
    await feed?.stop();
    // In-flight requests finish (up to STRATA_DRAIN_TIMEOUT), then the consumer stops after
    // committing what it applied, then the store closes.
    return server
      .drain()
      .then(() => app.close())
      .then(() => store.close())
      .then(() => console.log('Stopped: requests drained, events committed, store closed.'));
  });
}

/** npm start's live demo data: every cluster's telemetry, pushed through this server's own receiver. */
async function demoFeed(config: Config, store: MetricStore, port: number): Promise<{ stop(): Promise<void> }> {
  const clusters = (await store.listResources({ kind: 'all' })).map((r) => r.resourceId);
  // Minted for each push: the feed outlives any one token's lifetime.
  const token = (): string => mintDevToken(config.jwt, { role: 'collector', subject: 'demo-feed', ttlSeconds: 300 });
  const feed = startDemoFeed({ url: `http://127.0.0.1:${port}`, token, clusters, everyMs: config.demoFeed.everyMs });
  console.log(
    `Demo feed: ${clusters.length} clusters' telemetry every ${config.demoFeed.everyMs / 1000} s through POST /v1/metrics (STRATA_DEMO_FEED=off stops it).`,
  );
  return feed;
}

const sourceOf = (config: Config): string => (config.store.kind === 'druid' ? `Druid at ${config.store.druidUrl}` : config.dbPath);

/**
 * SIGTERM or SIGINT runs `stop` once; the process exits when it settles, or is cut after the drain deadline.
 * The handlers stay installed: a second signal (npm forwards the one its process group already got,
 * a terminal's Ctrl-C repeats) must not fall back to the default action and kill the drain midway.
 */
function stopOnSignals(config: Config, doing: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: ${doing}.`);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
    setTimeout(() => process.exit(1), config.edge.drainTimeoutMs + 5_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function announce(config: Config, what: string, port: number): void {
  console.log(`Strata is serving ${what}.`);
  console.log(`GraphQL: http://${config.host}:${port}/graphql   health: http://${config.host}:${port}/healthz`);
  console.log('Get a token:  npm run token -- --role internal    (or --role customer --tenant t-1, --role billing)');
}

/** STRATA_WORKERS > 1: this process owns the store and the aggregator; the workers serve HTTP on one port. */
async function primary(config: Config): Promise<void> {
  const store = await storeFromConfig(config, values.db);
  const running = await runPrimary(config, store, (line) => console.error(line));
  announce(config, `${sourceOf(config)} with ${config.workers} worker processes`, running.port);
  stopOnSignals(config, 'stopping the workers', () => running.stop().then(() => store.close()));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
