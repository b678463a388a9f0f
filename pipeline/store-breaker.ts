import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import CircuitBreaker from 'opossum';
import { ErrorCode, StrataError, isStrataError } from '../errors/strata-error.ts';
import type { PartialRow } from '../planner/query.ts';
import type { MetricStoreReader, StoreRequest } from '../store/metric-store.ts';
import { abortedByCaller } from './cancellation.ts';
import { breakersOpen } from '../observability/metrics.ts';

export interface StoreBreakerOptions {
  /** How long a breaker stays open before letting one trial call through; 0 turns breakers off. */
  readonly resetMs: number;
  /** Failure percentage over the rolling window (10 s) that opens it, once `minCalls` calls were seen. */
  readonly failurePercent: number;
  readonly minCalls: number;
  /** Distinct callers (tenants) whose own breakers must open within the window before a whole lane's does. */
  readonly minCallers: number;
}

export const DEFAULT_BREAKER: StoreBreakerOptions = { resetMs: 5000, failurePercent: 50, minCalls: 5, minCallers: 3 };

type Lane = StoreRequest['lane'];
type Breaker = CircuitBreaker<[StoreRequest, string], Map<string, PartialRow[]>>;

const WINDOW_MS = 10_000;
/** Callers with a breaker of their own at once; an idle one is dropped after IDLE_MS. */
const MAX_CALLERS = 2000;
const IDLE_MS = 10 * 60_000;

/**
 * Circuit breakers (opossum) around the store's piece queries, in two levels,
 * so that a down store is not hammered and one tenant cannot deny the others:
 *   caller (lane + tenant) → lane → store.
 * A caller's breaker opens on its own failures only (its heavy queries timing
 * out, say) and refuses that caller alone. A lane's breaker refuses everyone
 * in the lane, so it opens only once the breakers of several distinct callers
 * have opened within the window (an outage many tenants see; see
 * laneThreshold): one tenant's failures never open it. Then, like any breaker, it lets one trial
 * call through after `resetMs`. Refusals that are the caller's own (a client
 * that hung up, a bad request) count at neither level.
 */
export class StoreBreaker {
  private readonly lanes = new Map<Lane, { breaker: Breaker; opened: Map<string, number> }>();
  private readonly callers: LRUCache<string, Breaker>;
  /** One timer rotates every breaker's rolling window (opossum would start one per breaker). */
  private readonly rotation = new EventEmitter();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: MetricStoreReader,
    private readonly options: StoreBreakerOptions = DEFAULT_BREAKER,
  ) {
    this.rotation.setMaxListeners(0);
    this.timer = setInterval(() => this.rotation.emit('rotate'), WINDOW_MS / 10).unref();
    this.callers = new LRUCache<string, Breaker>({
      max: MAX_CALLERS,
      ttl: IDLE_MS,
      updateAgeOnGet: true,
      dispose: (b, key) => this.drop(b, key),
    });
  }

  async queryPieces(request: StoreRequest, caller: string): Promise<Map<string, PartialRow[]>> {
    if (this.options.resetMs <= 0) return this.store.queryPieces(request); // turned off
    try {
      return await this.callerBreaker(request.lane, caller).fire(request, caller);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EOPENBREAKER') throw error;
      const seconds = Math.ceil(this.options.resetMs / 1000);
      throw new StrataError(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `The metrics store is failing, so Strata stopped calling it for up to ${seconds} s. Retry after that.`,
        { retryAfterSeconds: seconds },
      );
    }
  }

  shutdown(): void {
    clearInterval(this.timer);
    this.callers.clear();
    for (const [lane, entry] of this.lanes) {
      if (entry.breaker.opened) breakersOpen.labels(lane, 'lane').set(0);
      entry.breaker.shutdown();
    }
  }

  /** A caller's breaker leaves (idle, or shutdown): its rolling window goes with it. */
  private drop(breaker: Breaker, key: string): void {
    if (breaker.opened) breakersOpen.labels(key.split('\u0000', 1)[0] ?? '', 'caller').dec();
    breaker.shutdown();
  }

  private callerBreaker(lane: Lane, caller: string): Breaker {
    const key = `${lane}\u0000${caller}`;
    let breaker = this.callers.get(key);
    if (!breaker) {
      const laneEntry = this.laneOf(lane);
      breaker = this.breaker(
        (request, who) => laneEntry.breaker.fire(request, who),
        // The lane's own refusal is not this caller's failure.
        (error, request) => !countsAsStoreFailure(error, request) || (error as { code?: unknown }).code === 'EOPENBREAKER',
      );
      breaker.on('open', () => {
        breakersOpen.labels(lane, 'caller').inc();
        if (noteOpened(laneEntry.opened, caller, Date.now() - WINDOW_MS) >= this.laneThreshold()) laneEntry.breaker.open();
      });
      breaker.on('halfOpen', () => breakersOpen.labels(lane, 'caller').dec());
      this.callers.set(key, breaker);
    }
    return breaker;
  }

  /**
   * Callers whose breakers must have opened for a lane's to open: `minCallers`,
   * and half of the callers that called in the window, so that a few accounts
   * of one attacker cannot open it while many tenants are served well.
   */
  private laneThreshold(): number {
    let active = 0;
    for (const breaker of this.callers.values()) if (breaker.stats.fires > 0) active += 1;
    return Math.max(this.options.minCallers, Math.ceil(active / 2));
  }

  private laneOf(lane: Lane): { breaker: Breaker; opened: Map<string, number> } {
    let entry = this.lanes.get(lane);
    if (!entry) {
      // Never opened by its own counts (only by callers' breakers, above); a failed trial call reopens it.
      const breaker = this.breaker(
        (request) => this.store.queryPieces(request),
        (error, request) => !countsAsStoreFailure(error, request),
        Number.MAX_SAFE_INTEGER,
      );
      breaker.on('open', () => breakersOpen.labels(lane, 'lane').set(1));
      breaker.on('halfOpen', () => breakersOpen.labels(lane, 'lane').set(0));
      this.lanes.set(lane, (entry = { breaker, opened: new Map() }));
    }
    return entry;
  }

  private breaker(
    call: (request: StoreRequest, caller: string) => Promise<Map<string, PartialRow[]>>,
    ignore: (error: unknown, request: StoreRequest) => boolean,
    minCalls = this.options.minCalls,
  ): Breaker {
    return new CircuitBreaker(call, {
      timeout: false, // the store call has its own deadline (query timeout, abort signal)
      resetTimeout: this.options.resetMs,
      errorThresholdPercentage: this.options.failurePercent,
      volumeThreshold: minCalls,
      rollingCountTimeout: WINDOW_MS,
      rotateBucketController: this.rotation,
      enableSnapshots: false,
      // opossum passes the call's arguments after the error; its typings declare only the error.
      errorFilter: ((error: unknown, request: StoreRequest) => ignore(error, request)) as (error: unknown) => boolean,
    });
  }
}

/**
 * Records that `caller`'s breaker opened now and returns how many distinct
 * callers' breakers opened at or after `since`. The map is kept in order of
 * the last opening, so expired entries are at its front.
 */
function noteOpened(opened: Map<string, number>, caller: string, since: number): number {
  opened.delete(caller);
  opened.set(caller, Date.now());
  for (const [who, at] of opened) {
    if (at >= since && opened.size <= MAX_CALLERS) break;
    opened.delete(who);
  }
  return opened.size;
}

/**
 * Store trouble counts; a caller's own doing does not: its abort (hang-up)
 * whatever error the store then raised, or its own bad request.
 */
function countsAsStoreFailure(error: unknown, request: StoreRequest | undefined): boolean {
  if (abortedByCaller(request?.signal)) return false;
  if (error instanceof Error && error.name === 'AbortError') return false;
  if (isStrataError(error)) return error.code === ErrorCode.UPSTREAM_UNAVAILABLE || error.code === ErrorCode.UPSTREAM_TIMEOUT;
  return true;
}

/** Whether a failed load may be answered from the last good copy: only when the store failed. */
export const servesStale = (error: unknown): boolean => countsAsStoreFailure(error, undefined);
