import CircuitBreaker from 'opossum';
import { ErrorCode, StrataError, isStrataError } from '../api/errors.ts';
import type { PartialRow } from '../planner/query.ts';
import type { MetricStore, StoreRequest } from '../store/metric-store.ts';

export interface StoreBreakerOptions {
  /** How long the breaker stays open before letting one trial call through; 0 turns the breaker off. */
  readonly resetMs: number;
  /** Failure percentage over the rolling window (10 s) that opens it, once `minCalls` calls were seen. */
  readonly failurePercent: number;
  readonly minCalls: number;
}

export const DEFAULT_BREAKER: StoreBreakerOptions = { resetMs: 5000, failurePercent: 50, minCalls: 5 };

/**
 * A circuit breaker (opossum) around the store's piece queries. When most
 * recent calls failed, Strata stops calling the store for a few seconds and
 * answers UPSTREAM_UNAVAILABLE at once, so a down or drowning store is not
 * hammered by retries and clients are not kept waiting for a timeout each;
 * then one trial call decides whether to close again. Refusals that are the
 * caller's own (a client that hung up, a bad request) do not count.
 */
export class StoreBreaker {
  private readonly breaker: CircuitBreaker<[StoreRequest], Map<string, PartialRow[]>>;

  constructor(
    private readonly store: MetricStore,
    private readonly options: StoreBreakerOptions = DEFAULT_BREAKER,
  ) {
    this.breaker = new CircuitBreaker((request: StoreRequest) => store.queryPieces(request), {
      timeout: false, // the store call has its own deadline (query timeout, abort signal)
      resetTimeout: options.resetMs,
      errorThresholdPercentage: options.failurePercent,
      volumeThreshold: options.minCalls,
      rollingCountTimeout: 10_000,
      errorFilter: (error: unknown) => !countsAsStoreFailure(error),
    });
  }

  get isOpen(): boolean {
    return this.breaker.opened;
  }

  async queryPieces(request: StoreRequest): Promise<Map<string, PartialRow[]>> {
    if (this.options.resetMs <= 0) return this.store.queryPieces(request); // turned off
    try {
      return await this.breaker.fire(request);
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
    this.breaker.shutdown();
  }
}

/** Store trouble counts; a caller's abort or its own bad request does not. */
function countsAsStoreFailure(error: unknown): boolean {
  if (error instanceof Error && error.name === 'AbortError') return false;
  if (isStrataError(error)) return error.code === ErrorCode.UPSTREAM_UNAVAILABLE || error.code === ErrorCode.UPSTREAM_TIMEOUT;
  return true;
}

/** Whether a failed load may be answered from the last good copy: only when the store failed. */
export const servesStale = (error: unknown): boolean => countsAsStoreFailure(error);
