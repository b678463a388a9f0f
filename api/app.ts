import type { ApolloServer } from '@apollo/server';
import { DEFAULT_LATENESS_MS, ReferenceAggregator } from '../aggregator/reference-aggregator.ts';
import type { CacheStore } from '../cache/cache-store.ts';
import { ResultCache } from '../cache/result-cache.ts';
import type { Config } from '../config/config.ts';
import { CATALOG, finestRollup, zeroWatermarks, type Catalog } from '../catalog/catalog.ts';
import { AggregationListener } from '../events/aggregation-listener.ts';
import type { EventBus } from '../events/event-bus.ts';
import { WatermarkRegistry } from '../events/watermark-registry.ts';
import { PieceLoaderFactory } from '../pipeline/piece-loader.ts';
import { DEFAULT_BREAKER } from '../pipeline/store-breaker.ts';
import { ResourceDirectory } from '../pipeline/resource-directory.ts';
import { LandedFeed } from '../subscriptions/landed-feed.ts';
import { ResponseEpochs } from './http/response-epochs.ts';
import type { MetricStore } from '../store/metric-store.ts';
import type { RequestContext, Services } from '../resolvers/context.ts';
import { busFromConfig, cacheFromConfig, pointWriterFor } from './compose.ts';
import type { LateMinutes, PointWriter } from '../ingest/point-writer.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createApollo } from './graphql/apollo.ts';
import type { DestinationStream } from 'pino';
import { enableProcessMetrics } from '../observability/metrics.ts';
import { flushTracing, installTracing } from '../observability/tracing.ts';

export interface App {
  /** The whole configuration, for the edge that composes the process; services below get slices. */
  readonly config: Config;
  readonly services: Services;
  readonly apollo: ApolloServer<RequestContext>;
  readonly cacheStore: CacheStore;
  readonly resultCache: ResultCache;
  readonly bus: EventBus;
  readonly listener: AggregationListener;
  /** Applied aggregations, fanned out to live subscriptions (subscriptions/). */
  readonly landed: LandedFeed;
  /** When replayed whole answers go out of date, per tenant scope. */
  readonly responseEpochs: ResponseEpochs;
  readonly aggregator: ReferenceAggregator;
  /** Where POST /v1/metrics writes (undefined: this store has no write path yet). */
  readonly pointWriter: (PointWriter & LateMinutes) | undefined;
  readonly log: Logger;
  close(): Promise<void>;
}

export interface AppParts {
  readonly store: MetricStore;
  readonly cacheStore?: CacheStore;
  readonly bus?: EventBus;
  /** The metrics and rollups served (default: the service catalog); the store must have been opened with the same. */
  readonly catalog?: Catalog;
  /** Where the JSON log lines go (default stderr): tests capture them. */
  readonly logDestination?: DestinationStream;
}

/**
 * Assembles the service from its parts. Stores, caches and buses come in
 * through their contracts, so tests and production differ only in the parts.
 */
export async function createApp(config: Config, parts: AppParts): Promise<App> {
  const log = createLogger(config.logLevel, parts.logDestination);
  // Process-wide: the first app of a process installs them, later ones reuse them.
  await installTracing({ ...config.tracing, serviceInstanceId: config.events.replicaId });
  enableProcessMetrics();
  const clock = (): number => config.fixedNow ?? Date.now();
  const store = parts.store;
  const cacheStore = parts.cacheStore ?? (await cacheFromConfig(config));
  const bus = parts.bus ?? (await busFromConfig(config));
  const resultCache = new ResultCache(cacheStore, {
    completeTtlMs: config.cache.completeTtlMs,
    freshTtlMs: config.cache.freshTtlMs,
    staleTtlMs: config.cache.staleTtlMs,
  });
  const catalog = parts.catalog ?? CATALOG;
  const watermarks = new WatermarkRegistry({ ...zeroWatermarks(catalog), ...pickRollups(await store.readWatermarks(), catalog) });
  const finest = finestRollup(catalog).name;
  const resources = new ResourceDirectory(store);
  await resources.start(30_000);
  const loaders = new PieceLoaderFactory({
    store,
    cache: resultCache,
    completeBefore: () => watermarks.snapshot()[finest] ?? 0,
    breaker: { ...DEFAULT_BREAKER, resetMs: config.edge.breakerResetMs },
    slots: { perCaller: config.edge.storeSlotsPerTenant, waitingPerCaller: config.edge.storeQueuePerTenant },
    maxRawMinutesPerQuery: config.edge.rawMinutesPerStoreQuery,
    clustersInScope: (scope) => resources.count(scope.kind === 'tenant' ? scope.tenantId : undefined),
  });
  const landed = new LandedFeed({
    maxSubscribers: config.subscriptions.maxSubscriptions,
    subscribersPerCaller: config.subscriptions.subscriptionsPerTenant,
  });
  const responseEpochs = new ResponseEpochs(watermarks);
  const listener = new AggregationListener({
    watermarks,
    cache: resultCache,
    log: log.write,
    now: clock,
    onApplied: (applied) => {
      responseEpochs.applied(applied);
      landed.publish(applied);
    },
  });
  await bus.subscribe(listener.handle);
  const pointWriter = await pointWriterFor(store, config.ingest);
  const aggregator = new ReferenceAggregator(store, bus, clock, {
    latenessMs: DEFAULT_LATENESS_MS,
    catalog,
    ...(pointWriter ? { lateData: pointWriter } : {}),
  });
  // Requests see `now` rounded down to STRATA_NOW_STEP: the data has one-minute resolution, and a sliding
  // window ending at the millisecond would give every refresh new, uncacheable ragged pieces (BENCHMARKS.md, scenario 2).
  const requestClock =
    config.fixedNow === undefined && config.nowStepMs > 0
      ? (): number => Math.floor(Date.now() / config.nowStepMs) * config.nowStepMs
      : clock;
  const services: Services = {
    limits: config.limits,
    catalog,
    store,
    watermarks,
    resources,
    loaders,
    clock: requestClock,
    latenessMs: config.ingest.maxLatenessMs,
  };
  const apollo = createApollo(config, log);
  await apollo.start();
  return {
    config,
    services,
    apollo,
    cacheStore,
    resultCache,
    bus,
    listener,
    landed,
    responseEpochs,
    aggregator,
    pointWriter,
    log,
    async close() {
      resources.stop();
      landed.close();
      loaders.breaker.shutdown();
      await apollo.stop();
      await bus.close();
      await cacheStore.close();
      await flushTracing();
      // The store belongs to whoever opened it (main.ts, a test): several apps may share one.
    },
  };
}

/** The store's watermarks of the catalog's rollups only. */
const pickRollups = (marks: Record<string, number>, catalog: Catalog): Record<string, number> =>
  Object.fromEntries(
    catalog.rollups.flatMap((r): [string, number][] => {
      const mark = marks[r.name];
      return mark === undefined ? [] : [[r.name, mark]];
    }),
  );
