interface Pingable {
  ping(): Promise<void>;
}

/** What readiness checks: the store, the cache and the bus (an App is one). */
export interface Checked {
  readonly services: { readonly store: Pingable };
  readonly cacheStore: Pingable;
  readonly bus: Pingable;
}

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
export async function checkReadiness(app: Checked, draining: boolean): Promise<Readiness> {
  return verdict(await checkParts(app), draining);
}

/**
 * Readiness for the edge: calls that arrive while a round of checks runs
 * share it. `/readyz` needs no token, so without this a flood of probes
 * would become as many store queries, Redis pings and Kafka connections; with
 * it, each part sees at most one check at a time (each bounded by
 * CHECK_TIMEOUT_MS). Nothing is reused once the round is over: an answer
 * comes from checks begun at most CHECK_TIMEOUT_MS before its call arrived.
 */
export function readinessProbe(app: Checked): (draining: boolean) => Promise<Readiness> {
  let round: Promise<Record<Part, CheckResult>> | undefined;
  return async (draining) => {
    round ??= checkParts(app).finally(() => (round = undefined));
    return verdict(await round, draining);
  };
}

type Part = 'store' | 'cache' | 'events';

async function checkParts(app: Checked): Promise<Record<Part, CheckResult>> {
  const [store, cache, events] = await Promise.all([
    timed(() => app.services.store.ping()),
    timed(() => app.cacheStore.ping()),
    timed(() => app.bus.ping()),
  ]);
  return { store, cache, events };
}

function verdict(checks: Record<Part, CheckResult>, draining: boolean): Readiness {
  if (draining) return { httpStatus: 503, body: { status: 'draining', checks } };
  if (!checks.store.ok) return { httpStatus: 503, body: { status: 'unavailable', checks } };
  return { httpStatus: 200, body: { status: checks.cache.ok && checks.events.ok ? 'ready' : 'degraded', checks } };
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
