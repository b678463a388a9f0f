import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ReferenceAggregator } from '../aggregator/reference-aggregator.ts';
import type { CacheStore } from '../cache/cache-store.ts';
import { ResultCache } from '../cache/result-cache.ts';
import type { Config } from '../config/config.ts';
import { AggregationListener } from '../events/aggregation-listener.ts';
import type { EventBus } from '../events/event-bus.ts';
import { WatermarkRegistry } from '../events/watermark-registry.ts';
import { PieceLoaderFactory } from '../pipeline/piece-loader.ts';
import { DEFAULT_BREAKER } from '../pipeline/store-breaker.ts';
import { ResourceDirectory } from '../pipeline/resource-directory.ts';
import { resolvers } from '../resolvers/resolvers.ts';
import { LandedFeed } from '../subscriptions/landed-feed.ts';
import { ResponseEpochs } from './response-epochs.ts';
import type { MetricStore } from '../store/metric-store.ts';
import type { RequestContext, Services } from './context.ts';
import { maskError } from './errors.ts';
import { documentStore } from './document-store.ts';
import { busFromConfig, cacheFromConfig } from './parts.ts';
import { createLogger, type Logger } from './logger.ts';
import type { DestinationStream } from 'pino';
import { observabilityPlugin } from '../observability/graphql-plugin.ts';
import { enableProcessMetrics } from '../observability/metrics.ts';
import { flushTracing, installTracing } from '../observability/tracing.ts';

/** Tokens in one document: a dashboard of 24 panels with every field is about 1,200. */
const MAX_TOKENS = 2000;

export const SCHEMA_SDL = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');

export interface App {
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
  readonly log: Logger;
  close(): Promise<void>;
}

export interface AppParts {
  readonly store: MetricStore;
  readonly cacheStore?: CacheStore;
  readonly bus?: EventBus;
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
  const resultCache = new ResultCache(cacheStore, { completeTtlMs: config.cache.completeTtlMs, freshTtlMs: config.cache.freshTtlMs, staleTtlMs: config.cache.staleTtlMs });
  const watermarks = new WatermarkRegistry(await store.readWatermarks());
  const resources = new ResourceDirectory(store);
  await resources.start(30_000);
  const loaders = new PieceLoaderFactory({ store, cache: resultCache, completeBefore: () => watermarks.snapshot().rollup_1h,
    breaker: { ...DEFAULT_BREAKER, resetMs: config.edge.breakerResetMs },
    slots: { perCaller: config.edge.storeSlotsPerTenant, waitingPerCaller: config.edge.storeQueuePerTenant },
  });
  const landed = new LandedFeed({ maxSubscribers: config.subscriptions.maxSubscriptions, subscribersPerCaller: config.subscriptions.subscriptionsPerTenant });
  const responseEpochs = new ResponseEpochs(watermarks);
  const listener = new AggregationListener({ watermarks, cache: resultCache, log: log.write, now: clock, onApplied: (applied) => {
      responseEpochs.applied(applied);
      landed.publish(applied);
    },
  });
  await bus.subscribe(listener.handle);
  const aggregator = new ReferenceAggregator(store, bus, clock);
  // Requests see `now` rounded down to STRATA_NOW_STEP: the data has one-minute resolution, and a sliding
  // window ending at the millisecond would give every refresh new, uncacheable ragged pieces (BENCHMARKS.md, scenario 2).
  const requestClock = config.fixedNow === undefined && config.nowStepMs > 0 ? (): number => Math.floor(Date.now() / config.nowStepMs) * config.nowStepMs : clock;
  const services: Services = { config, store, watermarks, resources, loaders, clock: requestClock };
  const apollo = createApollo(config, log);
  await apollo.start();
  return {
    services,
    apollo,
    cacheStore,
    resultCache,
    bus,
    listener,
    landed,
    responseEpochs,
    aggregator,
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

function createApollo(config: Config, log: Logger): ApolloServer<RequestContext> {
  const { limits } = config;
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxQueryDepth },
    maxAliases: { n: limits.maxAliases },
    costLimit: { maxCost: limits.maxCost },
    // Tokens are limited by graphql-js' own parser (parseOptions below): Armor's limit fires
    // in a hook Apollo answers with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    blockFieldSuggestion: { enabled: config.env === 'production' },
  }).protect();
  return new ApolloServer<RequestContext>({
    typeDefs: SCHEMA_SDL,
    resolvers,
    introspection: config.env !== 'production',
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Automatic persisted queries would be one cache shared by every tenant: a hash probe could
    // tell whether another tenant sent a document. Strata offers no persisted queries.
    persistedQueries: false,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (api/main.ts): Apollo's own SIGTERM handler stops it, then re-raises the
    // signal, which killed the process before the drain, the consumer's commit and the store's close.
    stopOnTerminationSignals: false,
    // graphql-armor ships CommonJS typings of Apollo's types; the objects are the same at run time.
    plugins: [
      ...(armor.plugins as unknown as ApolloServerPlugin<RequestContext>[]),
      observabilityPlugin(config.metricsOperations),
      // Apollo's cache-control plugin hooks every field resolution (thousands per timeseries answer)
      // to compute HTTP cache hints Strata never sends: its own response cache keys on the token.
      ApolloServerPluginCacheControlDisabled(),
    ],
    parseOptions: { maxTokens: MAX_TOKENS },
    documentStore: documentStore(config.documentCacheBytes),
    validationRules: [...armor.validationRules],
    formatError: (formatted, error) => maskError(formatted, error, log.write),
  });
}

