import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CacheStore } from '../cache/cache-store.ts';
import { MemoryCache } from '../cache/memory-cache.ts';
import { resultCacheContract, setup, pieces } from './contracts/result-cache-contract.ts';

resultCacheContract('memory', async () => new MemoryCache({ maxBytes: 1 << 20 }));

const values = (results: unknown[]) => results.map((r) => (r as { rows: { sum: number }[] }).rows[0]?.sum);

test('a failing cache never fails a query: it falls through to the store', async () => {
  const broken: CacheStore = {
    name: 'broken',
    getMany: async () => Promise.reject(new Error('down')),
    getVersioned: async () => Promise.reject(new Error('down')),
    setMany: async () => Promise.reject(new Error('down')),
    getGenerations: async () => Promise.reject(new Error('down')),
    bumpGenerations: async () => Promise.reject(new Error('down')),
    ping: async () => Promise.reject(new Error('down')),
    close: async () => undefined,
  };
  const { store, load, factory } = setup(broken);
  assert.deepEqual(values(await load(pieces())), [1, 1, 1]);
  assert.deepEqual(values(await load(pieces())), [1, 1, 1]);
  assert.equal(store.calls, 2);
  assert.equal(factory.totals.cacheUnavailable, 2);
});
