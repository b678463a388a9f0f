import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import { scopeId } from '../../planner/query.ts';
import type { RequestContext } from '../../resolvers/context.ts';

export interface ResponseCacheOptions {
  /** How long an answer may be replayed, counted from the start of the request that computed it; 0 turns the cache off. */
  readonly ttlMs: number;
  readonly maxBytes: number;
  /**
   * The epoch of a tenant scope (scope id): it changes whenever an applied
   * aggregation event touched that scope (see api/response-epochs.ts); every
   * entry of the scope made before is dropped on its next read.
   */
  readonly epoch: (scope: string) => number;
  /** Wall clock for the TTL (tests pass their own). */
  readonly wallClock?: () => number;
}

export interface ResponseCacheStats {
  /** Answered from the cache, without running GraphQL. */
  hits: number;
  /** Cacheable, but not in the cache (or expired): executed. */
  misses: number;
  /** Entries dropped on read because an event was applied after they were made. */
  invalidated: number;
  /** Not cacheable (GET, billing, not JSON): executed without a lookup. */
  bypassed: number;
  /** Executed requests (misses and bypassed) that needed no store query: every piece came from the piece cache. */
  missesWithoutStore: number;
  /** Store queries of the executed requests. */
  storeQueries: number;
}

interface Entry {
  readonly epoch: number;
  /** Wall-clock instant (of `wallClock`) after which the entry is never served. */
  readonly expiresAt: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** One request's dealings with the cache: serve a hit, or remember the answer it computes. */
export interface ResponseTicket {
  /** Writes the cached answer and returns true, or returns false (then execute and call `store`). */
  serve(res: ServerResponse): boolean;
  store(status: number, headers: Iterable<[string, string]>, body: string): void;
}

/**
 * Complete GraphQL responses, replayed without parsing, validating or
 * executing the operation again: a repeated dashboard or panel refresh costs
 * a map lookup.
 *
 * Correctness, in order of importance:
 * - The key starts with the tenant scope and the role (from the verified
 *   token, never from the request), then the request's `now` (so a sliding
 *   window `now-1h/now` is only replayed to a request that resolves it to the
 *   same instant: STRATA_NOW_STEP rounds it), the content type and accept
 *   header (they select Apollo's CSRF check and response format), then the
 *   exact body.
 * - An applied aggregation event (the same event that bumps the piece cache's
 *   generations and moves the rollup watermarks) moves the epoch of the
 *   scopes it touched (all of them if a watermark moved); an entry made under
 *   an older epoch of its scope is never served. The epoch is read when the
 *   request starts, so an answer computed across an event is stored under the
 *   old epoch and never read: the cache-aside race of the piece cache, closed
 *   the same way.
 * - Raw data arrives without events: an answer is replayed for at most
 *   `ttlMs` after its request started, on top of the piece cache's
 *   STRATA_CACHE_FRESH_TTL for the fresh tail (the resource list refreshes
 *   every 30 s, so a replayed `resources` is at most that old too).
 * - Only complete 200 answers without `errors` are kept; billing answers
 *   (exact figures for invoices) and GET requests are never cached.
 * A hit replays the bytes of the answer it stores, `plan.operation` included:
 * those counters describe the execution that computed it.
 */
export class ResponseCache {
  readonly stats: ResponseCacheStats = { hits: 0, misses: 0, invalidated: 0, bypassed: 0, missesWithoutStore: 0, storeQueries: 0 };
  private readonly entries: LRUCache<string, Entry>;
  private readonly clock: () => number;

  constructor(private readonly options: ResponseCacheOptions) {
    this.clock = options.wallClock ?? (() => performance.now());
    this.entries = new LRUCache<string, Entry>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (entry, key) => entry.body.length + key.length + 200,
    });
  }

  get enabled(): boolean {
    return this.options.ttlMs > 0;
  }

  /** The ticket for a request; one whose answer must not be cached only counts (it is never served or kept). */
  ticket(req: IncomingMessage, context: RequestContext, body: string): ResponseTicket {
    const type = req.headers['content-type'] ?? '';
    if (!this.enabled || req.method !== 'POST' || context.principal.role === 'billing' || !type.startsWith('application/json'))
      return this.bypass(context);
    const scope = scopeId(context.scope);
    const key = `${scope}\n${context.principal.role}\n${context.now}\n${type}\n${req.headers.accept ?? ''}\n${body}`;
    const epoch = this.options.epoch(scope);
    const startedAt = this.clock();
    return {
      serve: (res) => this.serve(key, epoch, res),
      store: (status, headers, text) => this.store(key, scope, epoch, startedAt, context, status, headers, text),
    };
  }

  /** The bytes of kept answers as counted against maxBytes, for the bench's memory report. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  private bypass(context: RequestContext): ResponseTicket {
    this.stats.bypassed += 1;
    return { serve: () => false, store: () => this.count(context) };
  }

  /** How the executed request was served: with or without store queries (every piece from the piece cache). */
  private count(context: RequestContext): void {
    const queries = context.stats.storeQueries;
    this.stats.storeQueries += queries;
    if (queries === 0) this.stats.missesWithoutStore += 1;
  }

  private serve(key: string, epoch: number, res: ServerResponse): boolean {
    const entry = this.entries.get(key);
    if (entry && (entry.epoch !== epoch || this.clock() >= entry.expiresAt)) {
      this.entries.delete(key);
      if (entry.epoch !== epoch) this.stats.invalidated += 1;
    } else if (entry) {
      this.stats.hits += 1;
      res.writeHead(200, entry.headers);
      res.end(entry.body);
      return true;
    }
    this.stats.misses += 1;
    return false;
  }

  private store(
    key: string,
    scope: string,
    epoch: number,
    startedAt: number,
    context: RequestContext,
    status: number,
    headers: Iterable<[string, string]>,
    text: string,
  ): void {
    this.count(context);
    // `"errors":` also matches a partial answer (a field that failed): never cached. A label that merely
    // contains the word is escaped (\"errors\") and does not match.
    if (status !== 200 || text.includes('"errors":')) return;
    const expiresAt = startedAt + this.options.ttlMs;
    if (this.clock() >= expiresAt || epoch !== this.options.epoch(scope)) return;
    this.entries.set(key, { epoch, expiresAt, headers: Object.fromEntries(headers), body: Buffer.from(text) });
  }
}
