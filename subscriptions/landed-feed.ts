import type { AppliedAggregation } from '../events/aggregation-listener.ts';
import type { TenantScope } from '../planner/query.ts';
import { ShareCounter } from './share-counter.ts';

/** One notice as a subscriber sees it: only its tenants, only the metrics it asked for. */
export type LandedNotice = AppliedAggregation;

export interface FeedLimits {
  /** Subscriptions open at once in this process, whatever connection holds them. */
  readonly maxSubscribers: number;
  /**
   * Subscriptions one caller key (callerKey: a tenant, or an internal/billing
   * subject) may hold at once over all its connections, so that one tenant
   * cannot take every slot of maxSubscribers.
   */
  readonly subscribersPerCaller: number;
  /** Notices held for a subscriber that reads slower than events land; the oldest are dropped. */
  readonly queueLength: number;
}

export const DEFAULT_FEED_LIMITS: FeedLimits = { maxSubscribers: 1000, subscribersPerCaller: 100, queueLength: 64 };

/** The process holds maxSubscribers: the server is overloaded, another replica may answer. */
export class FeedFullError extends Error {}

/** The caller holds its share: its own subscriptions must shrink first. */
export class FeedShareError extends Error {}

interface Subscriber {
  readonly caller: string;
  readonly scope: TenantScope;
  readonly metrics: ReadonlySet<string> | undefined;
  readonly queue: LandedNotice[];
  wake: (() => void) | undefined;
  done: boolean;
}

/**
 * Fans applied aggregations out to live subscribers, in process. Scoping
 * happens here, once, for every subscriber: a customer's notice names its own
 * tenant only and is never produced for an event that does not name it.
 * Each subscriber has a bounded queue, so a stalled client costs memory
 * proportional to the bound, not to the event rate.
 */
export class LandedFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly perCaller = new ShareCounter();
  private readonly closeHooks: (() => void)[] = [];
  private readonly limits: FeedLimits;
  private closed = false;

  /** Limits not given are the defaults (api/app.ts passes those of config.subscriptions). */
  constructor(limits: Partial<FeedLimits> = {}) {
    this.limits = { ...DEFAULT_FEED_LIMITS, ...limits };
  }

  get size(): number {
    return this.subscribers.size;
  }

  readonly publish = (applied: AppliedAggregation): void => {
    for (const subscriber of this.subscribers) {
      const notice = noticeFor(subscriber, applied);
      if (!notice) continue;
      if (subscriber.queue.length >= this.limits.queueLength) subscriber.queue.shift();
      subscriber.queue.push(notice);
      subscriber.wake?.();
    }
  };

  /** Subscriptions `caller` holds now. */
  heldBy(caller: string): number {
    return this.perCaller.of(caller);
  }

  /**
   * An async stream of notices for `scope`, counted against `caller`'s share
   * (its callerKey); returning from it (or close()) unsubscribes.
   */
  subscribe(scope: TenantScope, metrics: readonly string[] | undefined, caller: string): AsyncIterableIterator<LandedNotice> {
    if (this.closed) throw new FeedFullError('The server is shutting down; reconnect (another replica will answer).');
    const { maxSubscribers, subscribersPerCaller } = this.limits;
    // The share is checked first: a caller at its share is told what it can do about it.
    if (this.perCaller.of(caller) >= subscribersPerCaller) {
      throw new FeedShareError(
        `Subscription limit: ${subscribersPerCaller} live subscriptions per tenant; complete one of yours before subscribing again.`,
      );
    }
    if (this.subscribers.size >= maxSubscribers) {
      throw new FeedFullError(`This server holds ${maxSubscribers} live subscriptions, its limit; retry later or on another replica.`);
    }
    const subscriber: Subscriber = {
      caller,
      scope,
      metrics: metrics ? new Set(metrics) : undefined,
      queue: [],
      wake: undefined,
      done: false,
    };
    this.subscribers.add(subscriber);
    this.perCaller.add(caller);
    return this.iterate(subscriber);
  }

  /** Called once when the feed closes (the WebSocket server closes its sockets then). */
  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscriber of this.subscribers) this.end(subscriber);
    for (const hook of this.closeHooks) hook();
  }

  private end(subscriber: Subscriber): void {
    subscriber.done = true;
    // return() after close() ends a subscriber twice: its share is given back once.
    if (this.subscribers.delete(subscriber)) this.perCaller.remove(subscriber.caller);
    subscriber.wake?.();
  }

  private iterate(subscriber: Subscriber): AsyncIterableIterator<LandedNotice> {
    const finish = async (): Promise<IteratorResult<LandedNotice>> => {
      this.end(subscriber);
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<LandedNotice> = {
      next: async () => {
        while (subscriber.queue.length === 0 && !subscriber.done) await new Promise<void>((resolve) => (subscriber.wake = resolve));
        subscriber.wake = undefined;
        const notice = subscriber.queue.shift();
        return notice ? { done: false, value: notice } : { done: true, value: undefined };
      },
      return: finish,
      throw: finish,
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

function noticeFor(subscriber: Subscriber, applied: AppliedAggregation): LandedNotice | undefined {
  const tenants =
    subscriber.scope.kind === 'tenant'
      ? applied.tenants.filter((t) => subscriber.scope.kind === 'tenant' && t === subscriber.scope.tenantId)
      : applied.tenants;
  if (tenants.length === 0) return undefined;
  const metrics = subscriber.metrics ? applied.metrics.filter((m) => subscriber.metrics?.has(m)) : applied.metrics;
  if (metrics.length === 0) return undefined;
  return {
    eventId: applied.eventId,
    rollup: applied.rollup,
    interval: applied.interval,
    tenants,
    metrics,
    publishedAt: applied.publishedAt,
  };
}
