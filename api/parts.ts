import type { CacheStore } from '../cache/cache-store.ts';
import { MemoryCache } from '../cache/memory-cache.ts';
import { RedisCache } from '../cache/redis-cache.ts';
import type { Config } from '../config/config.ts';
import type { EventBus } from '../events/event-bus.ts';
import { KafkaBus } from '../events/kafka-bus.ts';
import { MemoryBus } from '../events/memory-bus.ts';

/** The cache the configuration names: in-process (embedded default) or Redis. */
export async function cacheFromConfig(config: Config): Promise<CacheStore> {
  const c = config.cache;
  if (c.kind === 'redis') {
    const cache = new RedisCache({ ...(c.redisUrl ? { url: c.redisUrl } : {}), clusterNodes: c.redisClusterNodes, commandTimeoutMs: c.redisTimeoutMs });
    await cache.ready(2000);
    return cache;
  }
  return new MemoryCache({ maxBytes: c.maxBytes });
}

/** The event bus the configuration names: in-process (embedded default) or Kafka. */
export function busFromConfig(config: Config): EventBus {
  const e = config.events;
  if (e.kind === 'kafka') return new KafkaBus({ brokers: e.brokers, topic: e.topic, groupId: `strata-api-${e.replicaId}`, clientId: `strata-${e.replicaId}` });
  return new MemoryBus();
}
