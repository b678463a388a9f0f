import assert from 'node:assert/strict';
import { after } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCache } from '../../cache/redis-cache.ts';
import { resultCacheContract } from '../contracts/result-cache-contract.ts';
import { serviceEnv } from '../helpers/services.ts';

const opened: RedisCache[] = [];
after(async () => Promise.all(opened.map((c) => c.close())));

resultCacheContract('redis', async () => {
  // A clean database per test: the suite counts store calls from a cold cache.
  const admin = new Redis(serviceEnv('REDIS_URL'));
  await admin.flushdb();
  admin.disconnect();
  const cache = new RedisCache({ url: serviceEnv('REDIS_URL'), commandTimeoutMs: 500 });
  assert.ok(await cache.ready(5000));
  opened.push(cache);
  return cache;
});
