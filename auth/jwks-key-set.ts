import { createPublicKey, type KeyObject } from 'node:crypto';
import { JwksClient } from 'jwks-rsa';

/** The algorithms a published key may verify; each key is pinned to one by its type. */
export type KeyAlgorithm = 'RS256' | 'ES256';

export interface VerificationKey {
  readonly kid: string;
  readonly algorithm: KeyAlgorithm;
  readonly key: KeyObject;
}

export interface JwksOptions {
  readonly url: string;
  /** One fetch (connect to last byte) gives up after this long. */
  readonly timeoutMs: number;
  /** A fetched set is fresh this long; after that a request refreshes it in the background. */
  readonly refreshMs: number;
  /** During an outage the last good set serves this long after it was fetched, then nothing does. */
  readonly maxStaleMs: number;
  /** At most this many fetches in any 60 s, whatever triggers them. */
  readonly fetchesPerMinute: number;
}

/** A key as the fetcher hands it over: its id, its declared alg (if any) and its SPKI PEM. */
export interface PublishedKey {
  readonly kid?: string;
  readonly alg?: string;
  getPublicKey(): string;
}

export type FetchKeys = () => Promise<readonly PublishedKey[]>;

export const MIN_RSA_BITS = 2048;

/** Why a key could not be had; the verifier turns it into the one generic 401. */
export class KeyUnavailableError extends Error {}

/** The fetch budget is spent: expected under a flood, so a background refresh does not log it. */
class BudgetSpentError extends KeyUnavailableError {}

/**
 * The keys published at a JWKS URL, cached as a whole set. jwks-rsa fetches
 * and converts them (its own per-kid cache and limiter are off: with them a
 * flood of random kids spends the shared budget and the real key's refresh is
 * refused, and there is no fallback for a refused refresh). Here every fetch,
 * whatever asked for it, refreshes every key, concurrent askers share one
 * fetch, an unknown kid costs at most one fetch, and the budget caps fetches.
 */
export class JwksKeySet {
  private keys = new Map<string, VerificationKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private readonly fetchTimes: number[] = [];
  private readonly fetchKeys: FetchKeys;
  /** Fetches started (a test and a metric read it). */
  fetches = 0;

  constructor(
    private readonly options: JwksOptions,
    private readonly onEvent: (msg: string, fields: Record<string, unknown>) => void = () => {},
    fetchKeys?: FetchKeys,
  ) {
    const client = new JwksClient({ jwksUri: options.url, cache: false, rateLimit: false, timeout: options.timeoutMs });
    this.fetchKeys = fetchKeys ?? (() => client.getSigningKeys());
  }

  /** The key for `kid`, or KeyUnavailableError saying why (never a key past the stale bound). */
  async keyFor(kid: string, now: number): Promise<VerificationKey> {
    const age = now - this.fetchedAt;
    let refreshed = false;
    if (age > this.options.maxStaleMs) {
      // Nothing usable is cached: this request waits for a fetch, and fails closed without one.
      this.keys.clear();
      await this.refresh(now);
      refreshed = true;
    } else if (age > this.options.refreshMs) {
      // Serve the cached set now; a refresh that fails (outage, budget) leaves it in place.
      this.refresh(now).catch((error: unknown) => {
        if (!(error instanceof BudgetSpentError))
          this.onEvent('JWKS refresh failed; serving cached keys', { reason: String(error), ageMs: age });
      });
    }
    const cached = this.keys.get(kid);
    if (cached) return cached;
    // An unknown kid may be a rotation: wait for one refresh (shared, budgeted), then look once more.
    if (this.inflight) await this.inflight.catch(() => {});
    else if (!refreshed) await this.refresh(now);
    const found = this.keys.get(kid);
    if (!found) throw new KeyUnavailableError(`no key with kid ${JSON.stringify(kid)} at the JWKS URL`);
    return found;
  }

  /** Resolves when no fetch is running (tests wait on background refreshes with it). */
  async whenIdle(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => {});
  }

  private refresh(now: number): Promise<void> {
    if (this.inflight) return this.inflight;
    while (this.fetchTimes.length > 0 && this.fetchTimes[0]! <= now - 60_000) this.fetchTimes.shift();
    if (this.fetchTimes.length >= this.options.fetchesPerMinute) {
      return Promise.reject(new BudgetSpentError(`JWKS fetch budget of ${this.options.fetchesPerMinute}/min is spent`));
    }
    this.fetchTimes.push(now);
    this.fetches += 1;
    this.inflight = this.load(now).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async load(now: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KeyUnavailableError(`JWKS fetch took over ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
    });
    try {
      const published = await Promise.race([this.fetchKeys(), deadline]);
      const keys = new Map<string, VerificationKey>();
      for (const p of published) {
        const usable = usableKey(p);
        if (typeof usable === 'string') this.onEvent('JWKS key dropped', { kid: p.kid, reason: usable });
        else keys.set(usable.kid, usable);
      }
      if (keys.size === 0) throw new KeyUnavailableError('the JWKS holds no usable signing key');
      this.keys = keys;
      this.fetchedAt = now;
    } catch (error) {
      throw error instanceof KeyUnavailableError
        ? error
        : new KeyUnavailableError(`JWKS fetch failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The key with its pinned algorithm, or the reason it is not used. */
export function usableKey(published: PublishedKey): VerificationKey | string {
  if (typeof published.kid !== 'string' || published.kid.length === 0) return 'no kid';
  let key: KeyObject;
  try {
    key = createPublicKey(published.getPublicKey());
  } catch (error) {
    return `not a public key (${error instanceof Error ? error.message : String(error)})`;
  }
  const details = key.asymmetricKeyDetails ?? {};
  let algorithm: KeyAlgorithm;
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) return `RSA key of ${details.modulusLength} bits, under ${MIN_RSA_BITS}`;
    algorithm = 'RS256';
  } else if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
    algorithm = 'ES256';
  } else {
    return `key type ${key.asymmetricKeyType}${details.namedCurve ? ` ${details.namedCurve}` : ''} is not accepted (RSA >= ${MIN_RSA_BITS} or EC P-256)`;
  }
  if (published.alg !== undefined && published.alg !== algorithm) return `declared alg ${published.alg} is not ${algorithm}`;
  return { kid: published.kid, algorithm, key };
}
