import { DAY_MS, HOUR_MS } from '../catalog/catalog.ts';
import { alignDown } from '../planner/interval.ts';
import type { Piece } from '../planner/pieces.ts';
import { scopeId, type Interval, type PartialRow } from '../planner/query.ts';
import type { CacheEntryWrite, CacheStore } from './cache-store.ts';

export interface ResultCacheOptions {
  /** TTL of a piece that ends at or before the completeness watermark. */
  readonly completeTtlMs: number;
  /** TTL of a piece that reaches into the fresh tail (data may still arrive). */
  readonly freshTtlMs: number;
  /** TTL of the last good copy served (flagged stale) when the store fails; 0 keeps none. */
  readonly staleTtlMs?: number;
}

export interface CacheLookup {
  readonly hits: Map<string, PartialRow[]>;
  /** Entry key (piece key + generations) for every piece, hit or miss. */
  readonly entryKeys: Map<string, string>;
  /** Whether the cache answered at all (false: it failed and every piece is a miss). */
  readonly available: boolean;
}

interface StoredValue {
  readonly key: string;
  readonly rows: PartialRow[];
}

/**
 * Piece results in a CacheStore, invalidated by generations.
 *
 * A generation counter exists per (scope, metric, hour) and per (scope,
 * metric, day); an event bumps the counters of the hours and days it touches,
 * for each tenant it names and for the all-tenants scope. A piece's entry key
 * folds in the counters it depends on, so a read that began before a bump can
 * only write under the old generation, which no reader asks for again: the
 * cache-aside race is closed by construction.
 */
export class ResultCache {
  constructor(
    private readonly store: CacheStore,
    private readonly options: ResultCacheOptions,
  ) {}

  async lookup(pieces: readonly Piece[]): Promise<CacheLookup> {
    const entryKeys = new Map<string, string>();
    const hits = new Map<string, PartialRow[]>();
    try {
      const reads = pieces.map((p) => ({ key: p.key, generationKeys: generationKeys(p) }));
      const answers = await this.store.getVersioned(reads);
      pieces.forEach((p, i) => {
        const answer = answers[i];
        if (!answer) return;
        entryKeys.set(p.key, answer.entryKey);
        const rows = decode(answer.entryKey, answer.value);
        if (rows) hits.set(p.key, rows);
      });
      return { hits, entryKeys, available: true };
    } catch {
      // A failing cache never fails a query: everything is a miss, nothing is written.
      return { hits, entryKeys: new Map(), available: false };
    }
  }

  /** Stores fresh results; failures are swallowed (the answer is already computed). */
  async fill(
    pieces: readonly Piece[],
    results: Map<string, PartialRow[]>,
    entryKeys: Map<string, string>,
    completeBefore: number,
  ): Promise<void> {
    const entries = pieces.flatMap((p) => {
      const key = entryKeys.get(p.key);
      const rows = results.get(p.key);
      if (!key || !rows) return [];
      const ttlMs = p.interval.end <= completeBefore ? this.options.completeTtlMs : this.options.freshTtlMs;
      return ttlMs > 0 ? [{ key, value: JSON.stringify({ key, rows } satisfies StoredValue), ttlMs }] : [];
    });
    if (entries.length === 0) return;
    await this.store.setMany([...entries, ...this.staleCopies(pieces, results)]).catch(() => undefined);
  }

  /** The last good copy of each piece, by piece key alone (no generations): read only when the store fails. */
  async lookupStale(pieces: readonly Piece[]): Promise<Map<string, PartialRow[]>> {
    const found = new Map<string, PartialRow[]>();
    if (!this.options.staleTtlMs) return found;
    const keys = pieces.map((p) => staleKey(p.key));
    const values = await this.store.getMany(keys).catch(() => []);
    pieces.forEach((p, i) => {
      const rows = decode(keys[i]!, values[i]);
      if (rows) found.set(p.key, rows);
    });
    return found;
  }

  private staleCopies(pieces: readonly Piece[], results: Map<string, PartialRow[]>): CacheEntryWrite[] {
    const ttlMs = this.options.staleTtlMs ?? 0;
    if (ttlMs <= 0) return [];
    return pieces.flatMap((p) => {
      const rows = results.get(p.key);
      const key = staleKey(p.key);
      return rows ? [{ key, value: JSON.stringify({ key, rows } satisfies StoredValue), ttlMs }] : [];
    });
  }

  /** Invalidates every piece of these scopes and metrics that overlaps the interval. */
  async invalidate(scopes: readonly string[], metrics: readonly string[], interval: Interval): Promise<number> {
    const keys: string[] = [];
    for (const scope of scopes) {
      for (const metric of metrics) {
        for (let h = alignDown(interval.start, HOUR_MS); h < interval.end; h += HOUR_MS) keys.push(genKey(scope, metric, 'h', h));
        for (let d = alignDown(interval.start, DAY_MS); d < interval.end; d += DAY_MS) keys.push(genKey(scope, metric, 'd', d));
      }
    }
    await this.store.bumpGenerations(keys);
    return keys.length;
  }
}

/** Stale copies live beside the entries, under the same hash tag (same Cluster slot). */
const staleKey = (pieceKey: string): string => `${pieceKey}:stale`;

const genKey = (scope: string, metric: string, unit: 'h' | 'd', start: number): string => `strata:gen:{${scope}}:${metric}:${unit}${start}`;

/** The counters a piece depends on: its hour for hour chunks, its day for day chunks. */
function generationKeys(p: Piece): string[] {
  const unit = p.chunkMs <= HOUR_MS ? 'h' : 'd';
  const step = unit === 'h' ? HOUR_MS : DAY_MS;
  const keys: string[] = [];
  for (let t = alignDown(p.interval.start, step); t < p.interval.end; t += step) keys.push(genKey(scopeId(p.scope), p.metric, unit, t));
  return keys;
}

/** A value is trusted only if it carries the key it was read under. */
function decode(key: string, raw: string | undefined): PartialRow[] | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as StoredValue;
    return value.key === key && Array.isArray(value.rows) ? value.rows : undefined;
  } catch {
    return undefined;
  }
}
