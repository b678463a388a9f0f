import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { versionedKey, type CacheStore } from '../../cache/cache-store.ts';

/**
 * The cache contract, run against every implementation (in-process LRU,
 * Redis). Keys are namespaced per run so that suites can share a server.
 * `elapse` lets time pass for TTLs: an implementation with an injectable clock
 * advances it; Redis, whose server keeps time, waits.
 */
export function cacheContract(
  name: string,
  open: () => Promise<CacheStore>,
  elapse: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): void {
  let cache: CacheStore;
  const ns = `contract:${name}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  before(async () => {
    cache = await open();
  });
  after(async () => cache.close());

  test(`${name}: getMany returns values in key order, undefined where absent`, async () => {
    await cache.setMany([
      { key: `${ns}:a`, value: 'A', ttlMs: 60_000 },
      { key: `${ns}:c`, value: 'C'.repeat(10_000), ttlMs: 60_000 },
    ]);
    assert.deepEqual(await cache.getMany([`${ns}:a`, `${ns}:b`, `${ns}:c`]), ['A', undefined, 'C'.repeat(10_000)]);
    assert.deepEqual(await cache.getMany([]), []);
  });

  test(`${name}: entries expire after their TTL`, async () => {
    await cache.setMany([{ key: `${ns}:short`, value: 'x', ttlMs: 50 }]);
    assert.deepEqual(await cache.getMany([`${ns}:short`]), ['x']);
    await elapse(120);
    assert.deepEqual(await cache.getMany([`${ns}:short`]), [undefined]);
  });

  test(`${name}: a set overwrites`, async () => {
    await cache.setMany([{ key: `${ns}:o`, value: '1', ttlMs: 60_000 }]);
    await cache.setMany([{ key: `${ns}:o`, value: '2', ttlMs: 60_000 }]);
    assert.deepEqual(await cache.getMany([`${ns}:o`]), ['2']);
  });

  test(`${name}: generations start equal and every bump makes them differ from all earlier values`, async () => {
    const [g1, g2] = [`${ns}:g1`, `${ns}:g2`];
    const start = await cache.getGenerations([g1, g2]);
    assert.equal(start.length, 2);
    const seen = new Set([start[0]]);
    for (let i = 0; i < 5; i++) {
      await cache.bumpGenerations([g1, g1]);
      const [now] = await cache.getGenerations([g1]);
      assert.ok(!seen.has(now), `generation ${now} repeated`);
      seen.add(now);
    }
    assert.deepEqual(await cache.getGenerations([g2]), [start[1]], 'an unrelated counter does not move');
  });

  test(`${name}: getVersioned reads counters and the value under the versioned key in one call`, async () => {
    const [ga, gb] = [`${ns}:va`, `${ns}:vb`];
    const [first] = await cache.getVersioned([{ key: `${ns}:piece`, generationKeys: [ga, gb] }]);
    const [a0, b0] = await cache.getGenerations([ga, gb]);
    assert.equal(first?.entryKey, versionedKey(`${ns}:piece`, [a0 ?? 0, b0 ?? 0]));
    assert.equal(first?.value, undefined);
    await cache.setMany([{ key: first?.entryKey ?? '', value: 'v1', ttlMs: 60_000 }]);
    const [hit, none] = await cache.getVersioned([
      { key: `${ns}:piece`, generationKeys: [ga, gb] },
      { key: `${ns}:other`, generationKeys: [] },
    ]);
    assert.deepEqual(hit, { entryKey: first?.entryKey, value: 'v1' });
    assert.deepEqual(none, { entryKey: versionedKey(`${ns}:other`, []), value: undefined });
    await cache.bumpGenerations([gb]);
    const [after] = await cache.getVersioned([{ key: `${ns}:piece`, generationKeys: [ga, gb] }]);
    assert.notEqual(after?.entryKey, first?.entryKey, 'a bump moves the key');
    assert.equal(after?.value, undefined);
  });

  test(`${name}: ping answers`, async () => {
    await cache.ping();
  });
}
