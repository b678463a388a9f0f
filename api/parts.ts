import type { CacheStore } from '../cache/cache-store.ts';
import { MemoryCache } from '../cache/memory-cache.ts';
import type { Config } from '../config/config.ts';
import type { EventBus } from '../events/event-bus.ts';
import { MemoryBus } from '../events/memory-bus.ts';

/*
 * The production components (Redis, Kafka, and Druid in api/main.ts) are
 * imported only when the configuration names them: the embedded mode then
 * never loads ioredis, kafkajs or druid-query-toolkit, about 12 MB of
 * resident memory and 3 MB of heap in a process meant to fit 256 MB.
 */

/** The cache the configuration names: in-process (embedded default) or Redis. */
export async function cacheFromConfig(config: Config): Promise<CacheStore> {
  const c = config.cache;
  if (c.kind === 'redis') {
    const { RedisCache } = await import('../cache/redis-cache.ts');
    const cache = new RedisCache({ ...(c.redisUrl ? { url: c.redisUrl } : {}), clusterNodes: c.redisClusterNodes, commandTimeoutMs: c.redisTimeoutMs });
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
