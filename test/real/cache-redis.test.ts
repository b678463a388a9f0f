import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisCache } from '../../cache/redis-cache.ts';
import { cacheContract } from '../contracts/cache-contract.ts';
import { serviceEnv } from '../helpers/services.ts';

cacheContract('redis', async () => {
  const cache = new RedisCache({ url: serviceEnv('REDIS_URL'), commandTimeoutMs: 500 });
  assert.ok(await cache.ready(5000), 'redis from scripts/redis.sh is reachable');
  return cache;
});

test('redis: unreachable server fails fast instead of queueing', async () => {
  const cache = new RedisCache({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 50 });
  // Refused by the client at once, not held in ioredis' offline queue until a connection comes.
  await assert.rejects(cache.getMany(['a']), /enableOfflineQueue options is false/);
  await cache.close();
});
