import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CacheStore } from '../../cache/cache-store.ts';
import { ResultCache } from '../../cache/result-cache.ts';
import { findMetric } from '../../catalog/catalog.ts';
import { PieceLoaderFactory, newStats } from '../../pipeline/piece-loader.ts';
import { piecesOf, type Piece } from '../../planner/pieces.ts';
import type { PartialRow } from '../../planner/query.ts';
import type { MetricStore, StoreRequest } from '../../store/metric-store.ts';

const END = Date.parse('2026-11-20T00:00:00Z');
const metric = findMetric('io.confluent.kafka.server/received_bytes')!;

export function pieces(tenantId = 't-1'): Piece[] {
  return piecesOf({
    query: {
      scope: { kind: 'tenant', tenantId },
      metric,
      aggregation: 'SUM',
      granularity: 'PT5M', // hour chunks: three pieces
      interval: { start: END - 3 * 3600_000, end: END },
      filter: { kind: 'field', field: 'resource_id', op: 'EQ', values: ['lkc-1'] },
      groupBy: [],
      orderBy: { by: 'LABELS', direction: 'ASC' },
      limit: 10,
      offset: 0,
    },
    fragments: [{ source: 'raw', interval: { start: END - 3 * 3600_000, end: END }, level: undefined, reason: 'test' }],
    decisions: [],
  });
}

/** A store whose answers the test controls: each call returns `value` and can be held open. */
class ScriptedStore {
  calls = 0;
  value = 1;
  fail = false;
  gate: Promise<void> = Promise.resolve();
  signals: (AbortSignal | undefined)[] = [];
  async queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>> {
    this.calls += 1;
    this.signals.push(request.signal);
    const value = this.value;
    await this.gate;
    if (this.fail) throw new Error('store down');
    return new Map(
      request.pieces.map((p) => [
        p.key,
        [{ bucket: p.interval.start, labels: {}, sum: value, min: value, max: value, minutes: 1, samples: 1 }],
      ]),
    );
  }
}

export function setup(cacheStore: CacheStore) {
  const store = new ScriptedStore();
  const cache = new ResultCache(cacheStore, { completeTtlMs: 60_000, freshTtlMs: 60_000 });
  const factory = new PieceLoaderFactory({ store: store as unknown as MetricStore, cache, completeBefore: () => END });
  const load = async (ps: Piece[], signal?: AbortSignal) =>
    factory.create({ lane: 'customer', key: 't:t-1' }, signal, newStats()).loadMany(ps);
  return { store, cache, factory, load };
}

const values = (results: unknown[]) => results.map((r) => (r as { rows: PartialRow[] }).rows[0]?.sum);

/** ResultCache over any CacheStore: single-flight, no cached errors, the cache-aside race, tenant separation, key checks. */
export function resultCacheContract(name: string, open: () => Promise<CacheStore>): void {
  test(`${name}: identical concurrent misses share one store query (single-flight)`, async () => {
    const { store, load } = setup(await open());
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const a = load(pieces());
    const b = load(pieces());
    await new Promise((r) => setTimeout(r, 10));
    release();
    assert.deepEqual(values(await a), values(await b));
    assert.equal(store.calls, 1);
    await load(pieces());
    assert.equal(store.calls, 1, 'and the result is cached');
  });

  test(`${name}: errors are never cached`, async () => {
    const { store, load } = setup(await open());
    store.fail = true;
    const failed = await load(pieces());
    assert.ok(failed.every((r) => r instanceof Error));
    store.fail = false;
    assert.deepEqual(values(await load(pieces())), [1, 1, 1]);
    assert.equal(store.calls, 2);
  });

  test(`${name}: cache-aside race: a read that began before an invalidation cannot store its old result as current`, async () => {
    const { store, cache, load } = setup(await open());
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const slow = load(pieces()); // reads generations, then waits in the store with value 1
    await new Promise((r) => setTimeout(r, 10));
    await cache.invalidate(['t:t-1', '*'], [metric.name], { start: END - 3600_000, end: END }); // new data published
    store.value = 2;
    release();
    assert.deepEqual(values(await slow), [1, 1, 1], 'the slow reader answers with what it read');
    store.gate = Promise.resolve();
    const next = values(await load(pieces()));
    assert.deepEqual(next, [1, 1, 2], 'the invalidated hour is read again; untouched hours stay cached');
  });

  test(`${name}: tenants never share entries`, async () => {
    const { store, load } = setup(await open());
    await load(pieces('t-1'));
    await load(pieces('t-2'));
    assert.equal(store.calls, 2);
  });

  test(`${name}: a value stored under another key is not trusted`, async () => {
    const memory = await open();
    const { store, load } = setup(memory);
    await load(pieces());
    // Corrupt every entry: same key, but a value that claims another key.
    const keys = pieces().map((p) => `${p.key}:g0`);
    await memory.setMany(keys.map((key) => ({ key, value: JSON.stringify({ key: 'other', rows: [] }), ttlMs: 60_000 })));
    assert.deepEqual(values(await load(pieces())), [1, 1, 1]);
    assert.equal(store.calls, 2);
  });

  test(`${name}: a failing store never fails a cached piece of the same batch: the failed piece alone holds the error`, async () => {
    const { store, load } = setup(await open());
    const all = pieces();
    assert.deepEqual(values(await load(all.slice(0, 2))), [1, 1], 'two of the three pieces are cached');
    store.fail = true;
    const mixed = await load(all);
    assert.deepEqual(values(mixed.slice(0, 2)), [1, 1], 'the cached pieces answer');
    assert.ok(mixed[2] instanceof Error, 'the piece the store had to answer holds its error');
  });

  test(`${name}: one caller's hang-up never fails another's identical in-flight query; the last to go cancels it`, async () => {
    const { store, load } = setup(await open());
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const first = new AbortController();
    const second = new AbortController();
    const a = load(pieces(), first.signal);
    const b = load(pieces(), second.signal);
    await new Promise((r) => setTimeout(r, 10));
    first.abort();
    assert.ok(
      (await a).every((r) => r instanceof Error),
      'the caller that left gets no answer',
    );
    assert.equal(store.signals[0]?.aborted, false, 'the shared store query goes on for the other caller');
    release();
    assert.deepEqual(values(await b), [1, 1, 1]);
    assert.equal(store.calls, 1);

    store.gate = new Promise(() => undefined); // never answers
    const third = new AbortController();
    const fourth = new AbortController();
    const c = load(pieces('t-3'), third.signal);
    const d = load(pieces('t-3'), fourth.signal);
    await new Promise((r) => setTimeout(r, 10));
    third.abort();
    assert.equal(store.signals[1]?.aborted, false);
    fourth.abort();
    assert.equal(store.signals[1]?.aborted, true, 'once every waiter has gone, the store query is cancelled');
    assert.ok([...(await c), ...(await d)].every((r) => r instanceof Error));
  });
}
