import { callerKey, tokenKey, type Principal } from '../../auth/principal.ts';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';

export interface CallerLimits {
  /** Requests of one tenant (or internal/billing subject) in progress at once in this process; 0 = unbounded. */
  readonly perTenant: number;
  /** Requests of one token in progress at once in this process; 0 = unbounded. */
  readonly perToken: number;
}

/**
 * Per-caller shares of the process: a request counts against its tenant and
 * its token from authentication until its answer is sent, body reading
 * included. However many sockets one tenant opens (slow bodies, hang-ups,
 * heavy queries), it holds at most its share, and the process-wide in-flight
 * slots (taken only once a body has arrived) stay open to the others.
 */
export class CallerGate {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: CallerLimits) {}

  /** Counts the request in; returns the function that counts it out. Over a share: RATE_LIMITED. */
  enter(principal: Principal, token: string): () => void {
    const keys: [string, number, string][] = [
      [`c:${callerKey(principal)}`, this.limits.perTenant, principal.role === 'customer' ? 'tenant' : 'caller'],
      [`k:${tokenKey(token)}`, this.limits.perToken, 'token'],
    ];
    for (const [key, limit, what] of keys) {
      const n = this.counts.get(key) ?? 0;
      if (limit > 0 && n >= limit) {
        throw new StrataError(
          ErrorCode.RATE_LIMITED,
          `This ${what} has ${n} requests in progress, its limit of concurrent requests; retry after the Retry-After delay, or send fewer at once.`,
          { retryAfterSeconds: 1, limit, scope: what },
        );
      }
    }
    for (const [key] of keys) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      for (const [key] of keys) {
        const n = (this.counts.get(key) ?? 1) - 1;
        if (n <= 0) this.counts.delete(key);
        else this.counts.set(key, n);
      }
    };
  }

  /** Requests of this principal's tenant (or subject) in progress. */
  inProgress(principal: Principal): number {
    return this.counts.get(`c:${callerKey(principal)}`) ?? 0;
  }
}
