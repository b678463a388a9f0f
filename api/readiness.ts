import type { App } from './app.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: 'timeout' | 'unreachable';
}

export interface Readiness {
  /** 200 when the store answers (the cache and the bus may be degraded), else 503. */
  readonly httpStatus: 200 | 503;
  readonly body: { readonly status: 'ready' | 'degraded' | 'unavailable' | 'draining'; readonly checks: Record<string, CheckResult> };
}

const CHECK_TIMEOUT_MS = 1000;

/**
 * Readiness reflects every dependency, but only the store decides it: with
 * Redis down the service still answers (cache misses fail open) and with Kafka
 * down it still answers (fresh entries have a short TTL), so taking every
 * replica out of the load balancer then would turn a degradation into an
 * outage. Errors are reported as a kind only: this endpoint needs no token.
 */
export async function checkReadiness(app: App, draining: boolean): Promise<Readiness> {
  const [store, cache, events] = await Promise.all([
    timed(() => app.services.store.ping()),
    timed(() => app.cacheStore.ping()),
    timed(() => app.bus.ping()),
  ]);
  const checks = { store, cache, events };
  if (draining) return { httpStatus: 503, body: { status: 'draining', checks } };
  if (!store.ok) return { httpStatus: 503, body: { status: 'unavailable', checks } };
  return { httpStatus: 200, body: { status: cache.ok && events.ok ? 'ready' : 'degraded', checks } };
}

async function timed(ping: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CHECK_TIMEOUT_MS)));
  try {
    const outcome = await Promise.race([ping().then(() => 'ok' as const), deadline]);
    const ms = Math.round(performance.now() - started);
    return outcome === 'ok' ? { ok: true, ms } : { ok: false, ms, error: 'timeout' };
  } catch {
    return { ok: false, ms: Math.round(performance.now() - started), error: 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}
