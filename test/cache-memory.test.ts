import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCache } from '../cache/memory-cache.ts';
import { cacheContract } from './contracts/cache-contract.ts';

/** The memory cache's TTLs run on this clock: the contract's TTL test advances it instead of sleeping. */
let now = 1_000; // not 0: lru-cache reads a start time of 0 as "no TTL"
cacheContract(
  'memory',
  async () => new MemoryCache({ maxBytes: 1024 * 1024, now: () => now }),
  async (ms) => {
    now += ms;
  },
);

test('memory: an evicted generation never reads as an older value', async () => {
  const cache = new MemoryCache({ maxBytes: 1024, maxGenerations: 2 });
  const [before] = await cache.getGenerations(['a']);
  await cache.bumpGenerations(['a']);
  const [bumped] = await cache.getGenerations(['a']);
  await cache.bumpGenerations(['b']);
  await cache.bumpGenerations(['c']); // evicts 'a'
  const [after] = await cache.getGenerations(['a']);
  assert.notEqual(after, before, 'must not fall back to the generation values were written under before the bump');
  assert.ok(after !== undefined && bumped !== undefined && after >= bumped);
});

test('memory: the LRU is bounded by bytes', async () => {
  const cache = new MemoryCache({ maxBytes: 10_000 });
  for (let i = 0; i < 100; i++) await cache.setMany([{ key: `k${i}`, value: 'x'.repeat(1000), ttlMs: 60_000 }]);
  const values = await cache.getMany(Array.from({ length: 100 }, (_, i) => `k${i}`));
  assert.ok(values.filter((v) => v !== undefined).length <= 10);
  assert.notEqual(values[99], undefined, 'the newest entry is kept');
});
