import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { callerKey, tokenKey, type Principal } from '../../auth/principal.ts';
import { failFastRedisOptions } from '../../cache/redis-options.ts';
import type { Config } from '../../config/config.ts';

/** One quota: a name clients see in the RateLimit fields, and requests per window. */
interface Quota {
  readonly name: 'tenant' | 'token';
  readonly points: number;
  readonly windowS: number;
  readonly limiter: RateLimiterAbstract;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** RateLimit-Policy and RateLimit (IETF httpapi draft), plus Retry-After when refused. */
  readonly headers: Readonly<Record<string, string>>;
  readonly retryAfterS: number;
  readonly quota: string;
}

/**
 * Per-tenant and per-token request quotas. The counters live in Redis when
 * Redis is the cache, so every replica spends from one budget; if Redis is
 * down or slow, a per-process insurance limiter with half the quota takes over
 * (no caller becomes unlimited, and a request waits at most the Redis command
 * timeout). It runs after authentication: a failed login spends nothing, and
 * one tenant cannot spend another's budget by sending bad tokens.
 */
export class RequestRateLimiter {
  constructor(
    private readonly quotas: readonly Quota[],
    private readonly onClose: () => void = () => undefined,
  ) {}

  async admit(principal: Principal, token: string): Promise<RateDecision> {
    const results = await Promise.all(this.quotas.map((q) => spend(q, keyFor(q.name, principal, token))));
    // The quota closest to running out is the one clients should see.
    let worst = 0;
    for (let i = 1; i < results.length; i++) if (results[i]!.remaining < results[worst]!.remaining) worst = i;
    const refused = results.findIndex((r) => !r.allowed);
    const shown = refused >= 0 ? refused : worst;
    const quota = this.quotas[shown];
    const result = results[shown];
    if (!quota || !result) return { allowed: true, headers: {}, retryAfterS: 0, quota: '' };
    const resetS = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    const headers: Record<string, string> = {
      'RateLimit-Policy': this.quotas.map((q) => `"${q.name}";q=${q.points};w=${q.windowS}`).join(', '),
      RateLimit: `"${quota.name}";r=${Math.max(0, result.remaining)};t=${resetS}`,
    };
    if (refused >= 0) headers['Retry-After'] = String(resetS);
    return { allowed: refused < 0, headers, retryAfterS: resetS, quota: quota.name };
  }

  close(): void {
    this.onClose();
  }
}

async function spend(quota: Quota, key: string): Promise<{ allowed: boolean; remaining: number; msBeforeNext: number }> {
  try {
    const res = await quota.limiter.consume(key, 1);
    return { allowed: true, remaining: res.remainingPoints, msBeforeNext: res.msBeforeNext };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return { allowed: false, remaining: 0, msBeforeNext: rejection.msBeforeNext };
    throw rejection;
  }
}

/** Partition keys never carry the token itself: a hash identifies it. */
function keyFor(quota: Quota['name'], principal: Principal, token: string): string {
  if (quota === 'token') return tokenKey(token);
  return callerKey(principal);
}

/** The limiter the configuration asks for; undefined when both quotas are 0 (off). */
export function rateLimiterFromConfig(config: Config): RequestRateLimiter | undefined {
  const wanted = [
    { name: 'tenant' as const, points: config.edge.tenantPerMinute },
    { name: 'token' as const, points: config.edge.tokenPerMinute },
  ].filter((q) => q.points > 0);
  if (wanted.length === 0) return undefined;
  const redis =
    config.cache.kind === 'redis' && config.cache.redisUrl ? redisClient(config.cache.redisUrl, config.cache.redisTimeoutMs) : undefined;
  const quotas = wanted.map((q): Quota => {
    const base = { points: q.points, duration: 60, keyPrefix: `strata:rl:${q.name}` };
    const insurance = new RateLimiterMemory({ ...base, points: Math.max(1, Math.floor(q.points / 2)) });
    const limiter = redis
      ? new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: insurance, rejectIfRedisNotReady: true })
      : new RateLimiterMemory(base);
    return { name: q.name, points: q.points, windowS: 60, limiter };
  });
  return new RequestRateLimiter(quotas, () => redis?.disconnect());
}

/**
 * Same failure posture as the cache: short timeout, no offline queue, reconnect in the background.
 * ioredis is loaded only here (synchronously: the edge is built synchronously), so the embedded
 * mode never loads it (api/compose.ts says why).
 */
function redisClient(url: string, timeoutMs: number): Redis {
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client = new RedisClient(url, failFastRedisOptions(timeoutMs));
  client.on('error', () => undefined);
  return client;
}
