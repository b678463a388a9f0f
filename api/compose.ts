import { existsSync } from 'node:fs';
import type { CacheStore } from '../cache/cache-store.ts';
import { MemoryCache } from '../cache/memory-cache.ts';
import { ConfigError, type Config, type IngestConfig } from '../config/config.ts';
import type { EventBus } from '../events/event-bus.ts';
import { MemoryBus } from '../events/memory-bus.ts';
import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { DEFAULT_SEED } from '../store/duckdb/seed-dataset.ts';
import { seedFile } from '../store/duckdb/seed-file.ts';
import type { MetricStore } from '../store/metric-store.ts';
import { BoundedPointWriter } from '../ingest/bounded-point-writer.ts';
import { DuckDbPointWriter } from '../store/duckdb/duckdb-point-writer.ts';

/*
 * The composition root's factories: the store, the cache and the event bus
 * the configuration names, each from its own slice of it. The production
 * components (Druid, Redis, Kafka) are imported only when the configuration
 * names them: the embedded mode then never loads druid-query-toolkit,
 * ioredis or kafkajs, about 12 MB of resident memory and 3 MB of heap in a
 * process meant to fit 256 MB.
 */

/**
 * The store the configuration names: Druid in production; else the DuckDB
 * file, with demo data generated on first start (unless `dbFlag`, a file the
 * user named with --db, is missing: that is a mistake to report).
 */
export async function storeFromConfig(config: Config, dbFlag?: string): Promise<MetricStore> {
  if (config.store.kind === 'druid') {
    // Serves what is in Druid (no demo data there); stops at once, saying why, if it cannot.
    // Imported here only: the embedded mode never loads the Druid client (see above).
    const { DruidStore } = await import('../store/druid/druid-store.ts');
    const druid = new DruidStore({
      url: config.store.druidUrl ?? '',
      coordinatorUrl: config.store.druidCoordinatorUrl,
      timeoutMs: config.limits.queryTimeoutMs,
    });
    const problem = await druid.whyNotServing();
    if (problem) throw new ConfigError(`Cannot serve from Druid: ${problem}`);
    return druid;
  }
  if (!existsSync(config.dbPath)) {
    if (dbFlag)
      throw new ConfigError(
        `--db ${dbFlag}: no such file. Create one with \`npm run seed -- --db ${dbFlag}\`, or omit --db for the demo data.`,
      );
    const end = Math.floor((config.fixedNow ?? Date.now()) / 3_600_000) * 3_600_000;
    console.log(`Generating demo data in ${config.dbPath} (first start only)...`);
    await seedFile(config.dbPath, { ...DEFAULT_SEED, end });
  }
  const duckdb = await DuckDbStore.open(config.dbPath);
  // DuckDB would otherwise grow its buffers up to 80 % of the machine's RAM (BENCHMARKS.md, scenario 5).
  await duckdb.limitResources(config.duckdb);
  return duckdb;
}

/** The cache the configuration names: in-process (embedded default) or Redis. */
export async function cacheFromConfig(config: Config): Promise<CacheStore> {
  const c = config.cache;
  if (c.kind === 'redis') {
    const { RedisCache } = await import('../cache/redis-cache.ts');
    const cache = new RedisCache({
      ...(c.redisUrl ? { url: c.redisUrl } : {}),
      clusterNodes: c.redisClusterNodes,
      commandTimeoutMs: c.redisTimeoutMs,
    });
    await cache.ready(2000);
    return cache;
  }
  return new MemoryCache({ maxBytes: c.maxBytes });
}

/** The event bus the configuration names: in-process (embedded default) or Kafka. */
export async function busFromConfig(config: Config): Promise<EventBus> {
  const e = config.events;
  if (e.kind === 'kafka') {
    const { KafkaBus } = await import('../events/kafka-bus.ts');
    return new KafkaBus({ brokers: e.brokers, topic: e.topic, groupId: `strata-api-${e.replicaId}`, clientId: `strata-${e.replicaId}` });
  }
  return new MemoryBus();
}

/**
 * The telemetry write path over the store, behind the bounded write queue:
 * the embedded store's own; none yet for Druid (P10: Kafka into Druid) or a
 * cluster worker's store over IPC, where POST /v1/metrics answers 501.
 */
export async function pointWriterFor(store: MetricStore, ingest: IngestConfig): Promise<BoundedPointWriter | undefined> {
  if (!(store instanceof DuckDbStore)) return undefined;
  return new BoundedPointWriter(
    await DuckDbPointWriter.open(store.duckdb, { maxSeriesPerTenant: ingest.maxSeriesPerTenant }),
    ingest.queuePoints,
  );
}
