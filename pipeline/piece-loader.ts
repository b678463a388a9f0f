import DataLoader from 'dataloader';
import type { ResultCache } from '../cache/result-cache.ts';
import type { Piece } from '../planner/pieces.ts';
import type { PartialRow } from '../planner/query.ts';
import type { MetricStore, StoreRequest } from '../store/metric-store.ts';
import { servesStale, StoreBreaker, type StoreBreakerOptions } from './store-breaker.ts';
import { LOAD_COUNTERS } from '../observability/metrics.ts';
import { tracedLookup, tracedStoreQuery } from '../observability/pipeline-trace.ts';

export interface PieceResult {
  readonly rows: readonly PartialRow[];
  readonly cached: boolean;
  /** The store failed and this is the last good copy, possibly out of date. */
  readonly stale: boolean;
}

/** Counters of one request (or of the whole process): shown in `plan` and metrics. */
export interface LoadStats {
  storeQueries: number;
  cacheHits: number;
  cacheMisses: number;
  cacheUnavailable: number;
  staleServed: number;
}

export const newStats = (): LoadStats => ({ storeQueries: 0, cacheHits: 0, cacheMisses: 0, cacheUnavailable: 0, staleServed: 0 });

export interface PieceLoaderDeps {
  readonly store: MetricStore;
  readonly cache: ResultCache;
  /** Pieces ending at or before this instant are complete and cached long. */
  readonly completeBefore: () => number;
  readonly breaker?: StoreBreakerOptions;
}

/**
 * Batches every piece that the fields of one operation ask for in the same
 * tick: one cache lookup and at most one store query per batch. Identical
 * misses of concurrent operations share one store query (single-flight).
 */
export class PieceLoaderFactory {
  readonly totals: LoadStats = newStats();
  private readonly inflight = new Map<string, Promise<Map<string, PartialRow[]>>>();
  readonly breaker: StoreBreaker;

  constructor(private readonly deps: PieceLoaderDeps) {
    this.breaker = new StoreBreaker(deps.store, deps.breaker);
  }

  create(lane: StoreRequest['lane'], signal: AbortSignal | undefined, stats: LoadStats): DataLoader<Piece, PieceResult, string> {
    return new DataLoader<Piece, PieceResult, string>((pieces) => this.loadBatch(pieces, lane, signal, stats), {
      cacheKeyFn: (p) => p.key,
      maxBatchSize: 2000,
    });
  }

  private async loadBatch(pieces: readonly Piece[], lane: StoreRequest['lane'], signal: AbortSignal | undefined, stats: LoadStats): Promise<PieceResult[]> {
    const lookup = await tracedLookup(this.deps.cache, pieces);
    if (!lookup.available) this.count(stats, 'cacheUnavailable', 1);
    const waits = new Map<string, Promise<Map<string, PartialRow[]>>>();
    const toFetch: Piece[] = [];
    for (const p of pieces) {
      if (lookup.hits.has(p.key)) continue;
      const shared = this.inflight.get(entryKey(lookup.entryKeys, p));
      if (shared) waits.set(p.key, shared);
      else toFetch.push(p);
    }
    this.count(stats, 'cacheHits', lookup.hits.size);
    this.count(stats, 'cacheMisses', pieces.length - lookup.hits.size);
    if (toFetch.length > 0) {
      const fetched = this.fetch(toFetch, lookup.entryKeys, lookup.available, lane, signal, stats);
      for (const p of toFetch) waits.set(p.key, fetched);
    }
    let staleCopies: Promise<Map<string, PartialRow[]>> | undefined;
    const results: PieceResult[] = [];
    for (const p of pieces) {
      const hit = lookup.hits.get(p.key);
      if (hit) {
        results.push({ rows: hit, cached: true, stale: false });
        continue;
      }
      try {
        const rows = (await waits.get(p.key))?.get(p.key);
        if (!rows) throw new Error(`store returned no result for piece ${p.key}`);
        results.push({ rows, cached: false, stale: false });
      } catch (error) {
        // The store failed: answer from the last good copies if every missing piece has one.
        if (!servesStale(error)) throw error;
        staleCopies ??= this.deps.cache.lookupStale(pieces.filter((q) => !lookup.hits.has(q.key)));
        const rows = (await staleCopies).get(p.key);
        if (!rows) throw error;
        this.count(stats, 'staleServed', 1);
        results.push({ rows, cached: true, stale: true });
      }
    }
    return results;
  }

  private fetch(
    pieces: Piece[],
    entryKeys: Map<string, string>,
    cacheable: boolean,
    lane: StoreRequest['lane'],
    signal: AbortSignal | undefined,
    stats: LoadStats,
  ): Promise<Map<string, PartialRow[]>> {
    this.count(stats, 'storeQueries', 1);
    const completeBefore = this.deps.completeBefore();
    const run = (async () => {
      const results = await tracedStoreQuery(this.deps.store.name, this.breaker, { pieces, lane, ...(signal ? { signal } : {}) });
      // Errors never reach this line, so they are never cached.
      if (cacheable) await this.deps.cache.fill(pieces, results, entryKeys, completeBefore);
      return results;
    })();
    const keys = pieces.map((p) => entryKey(entryKeys, p));
    for (const k of keys) this.inflight.set(k, run);
    const cleanup = (): void => {
      for (const k of keys) if (this.inflight.get(k) === run) this.inflight.delete(k);
    };
    run.then(cleanup, cleanup);
    return run;
  }

  private count(stats: LoadStats, field: keyof LoadStats, n: number): void {
    stats[field] += n;
    this.totals[field] += n;
    if (n > 0) LOAD_COUNTERS[field].inc(n);
  }
}

/** Without a cache answer there are no generations: single-flight still works on the bare key. */
const entryKey = (entryKeys: Map<string, string>, p: Piece): string => entryKeys.get(p.key) ?? `${p.key}:nocache`;
