import DataLoader from 'dataloader';
import type { CacheLookup, ResultCache } from '../cache/result-cache.ts';
import type { Piece } from '../planner/pieces.ts';
import type { PartialRow } from '../planner/query.ts';
import type { MetricStoreReader, StoreRequest } from '../store/metric-store.ts';
import { SingleFlight } from './single-flight.ts';
import { servesStale, StoreBreaker, type StoreBreakerOptions } from './store-breaker.ts';
import { StoreSlots, type StoreSlotOptions } from './store-slots.ts';
import { partsByRawCost } from './operation-budget.ts';
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

/** Who loads: the store lane (priority class) and the key of its fair shares (tenant, or subject). */
export interface Caller {
  readonly lane: StoreRequest['lane'];
  readonly key: string;
}

export interface PieceLoaderDeps {
  readonly store: MetricStoreReader;
  readonly cache: ResultCache;
  /** Pieces ending at or before this instant are complete and cached long. */
  readonly completeBefore: () => number;
  readonly breaker?: StoreBreakerOptions;
  readonly slots?: StoreSlotOptions;
  /** Raw cluster-minutes one store statement may scan; more is cut into several, run one after another. */
  readonly maxRawMinutesPerQuery?: number;
  /** Clusters a scope holds (for the raw cost of a piece with no cluster filter). */
  readonly clustersInScope?: (scope: Piece['scope']) => number;
}

type Fetched = Map<string, PartialRow[]>;

/**
 * Batches every piece that the fields of one operation ask for in the same
 * tick. The load step, in order, and why each stage sits where it does:
 *   1. lookup: one cache read for the whole batch; a failing cache is a miss
 *      for every piece, never an error. Hits are answered whatever follows.
 *   2. share: a miss that a concurrent operation of the same scope is already
 *      fetching joins that fetch (single-flight), so a burst of identical
 *      dashboards costs one store query; keys carry generations, so a fetch
 *      begun before an invalidation is never joined after it.
 *   3. fetch: the other misses in one store query (several, one after another,
 *      when their raw scans are large: one statement's memory stays bounded),
 *      in the caller's fair share of store slots, through the breakers
 *      (caller, then lane).
 *   4. fill: results are cached only after success, so errors never are.
 *   5. stale: a piece whose fetch failed because the store failed is answered
 *      from its last good copy (flagged stale); without one, that piece's
 *      slot holds the error, and the batch's other pieces still answer.
 */
export class PieceLoaderFactory {
  readonly totals: LoadStats = newStats();
  readonly breaker: StoreBreaker;
  readonly slots: StoreSlots;
  private readonly flights = new SingleFlight<Fetched>();

  constructor(private readonly deps: PieceLoaderDeps) {
    this.breaker = new StoreBreaker(deps.store, deps.breaker);
    this.slots = new StoreSlots(deps.slots);
  }

  create(caller: Caller, signal: AbortSignal | undefined, stats: LoadStats): DataLoader<Piece, PieceResult, string> {
    return new DataLoader<Piece, PieceResult, string>((pieces) => this.loadBatch(pieces, caller, signal, stats), {
      cacheKeyFn: (p) => p.key,
      maxBatchSize: 2000,
    });
  }

  private async loadBatch(
    pieces: readonly Piece[],
    caller: Caller,
    signal: AbortSignal | undefined,
    stats: LoadStats,
  ): Promise<(PieceResult | Error)[]> {
    const lookup = await this.lookup(pieces, stats);
    const misses = pieces.filter((p) => !lookup.hits.has(p.key));
    const waits = this.flights.join(
      misses.map((p) => entryKey(lookup.entryKeys, p)),
      signal,
      (missing, flightSignal) =>
        this.fetch(
          missing.map((i) => misses[i] as Piece),
          lookup,
          caller,
          flightSignal,
          stats,
        ),
    );
    const settled = await Promise.allSettled(waits);
    const answers = new Map<string, PieceResult | Error>();
    for (const [i, p] of misses.entries()) answers.set(p.key, answerOf(p, settled[i]));
    await this.serveStale(answers, misses, stats);
    return pieces.map((p) => {
      const hit = lookup.hits.get(p.key);
      return hit ? { rows: hit, cached: true, stale: false } : (answers.get(p.key) ?? new Error(`no answer for piece ${p.key}`));
    });
  }

  private async lookup(pieces: readonly Piece[], stats: LoadStats): Promise<CacheLookup> {
    const lookup = await tracedLookup(this.deps.cache, pieces);
    if (!lookup.available) this.count(stats, 'cacheUnavailable', 1);
    this.count(stats, 'cacheHits', lookup.hits.size);
    this.count(stats, 'cacheMisses', pieces.length - lookup.hits.size);
    return lookup;
  }

  private async fetch(pieces: Piece[], lookup: CacheLookup, caller: Caller, signal: AbortSignal, stats: LoadStats): Promise<Fetched> {
    const completeBefore = this.deps.completeBefore();
    const results = await this.slots.run(caller.key, () => this.query(pieces, caller, signal, stats), signal);
    // Errors never reach this line, so they are never cached.
    if (lookup.available) await this.deps.cache.fill(pieces, results, lookup.entryKeys, completeBefore);
    return results;
  }

  /** One store query per part of the pieces, in order, their answers merged. */
  private async query(pieces: Piece[], caller: Caller, signal: AbortSignal, stats: LoadStats): Promise<Fetched> {
    const breaker = { queryPieces: (r: StoreRequest) => this.breaker.queryPieces(r, caller.key) };
    const scope = pieces[0]?.scope;
    const clusters = (): number => (scope && this.deps.clustersInScope ? this.deps.clustersInScope(scope) : 1);
    const parts = partsByRawCost(pieces, this.deps.maxRawMinutesPerQuery ?? Number.POSITIVE_INFINITY, clusters);
    this.count(stats, 'storeQueries', parts.length);
    if (parts.length === 1) return tracedStoreQuery(this.deps.store.name, breaker, { pieces, lane: caller.lane, signal });
    const merged: Fetched = new Map();
    for (const part of parts) {
      for (const [key, rows] of await tracedStoreQuery(this.deps.store.name, breaker, { pieces: part, lane: caller.lane, signal }))
        merged.set(key, rows);
    }
    return merged;
  }

  /** Pieces whose store query failed for the store's reasons get their last good copy, where there is one. */
  private async serveStale(answers: Map<string, PieceResult | Error>, misses: readonly Piece[], stats: LoadStats): Promise<void> {
    const failed = misses.filter((p) => {
      const answer = answers.get(p.key);
      return answer instanceof Error && servesStale(answer);
    });
    if (failed.length === 0) return;
    const copies = await this.deps.cache.lookupStale(failed);
    for (const [key, rows] of copies) answers.set(key, { rows, cached: true, stale: true });
    this.count(stats, 'staleServed', copies.size);
  }

  private count(stats: LoadStats, field: keyof LoadStats, n: number): void {
    stats[field] += n;
    this.totals[field] += n;
    if (n > 0) LOAD_COUNTERS[field].inc(n);
  }
}

function answerOf(p: Piece, settled: PromiseSettledResult<Fetched> | undefined): PieceResult | Error {
  if (settled?.status === 'rejected') return settled.reason instanceof Error ? settled.reason : new Error(String(settled.reason));
  const rows = settled?.value.get(p.key);
  return rows ? { rows, cached: false, stale: false } : new Error(`store returned no result for piece ${p.key}`);
}

/** Without a cache answer there are no generations: single-flight still works on the bare key. */
const entryKey = (entryKeys: Map<string, string>, p: Piece): string => entryKeys.get(p.key) ?? `${p.key}:nocache`;
