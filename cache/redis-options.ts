import type { RedisOptions } from 'ioredis';

/**
 * How Strata talks to Redis wherever it does (cache, quotas): a short timeout
 * on every command, nothing queued while disconnected, reconnection in the
 * background with backoff. A slow or absent Redis then costs a request at
 * most the timeout, never a stall.
 */
export function failFastRedisOptions(commandTimeoutMs: number): RedisOptions {
  return {
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
}
