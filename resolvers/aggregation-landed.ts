import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { callerKey, scopeOf, type Reader } from '../auth/principal.ts';
import { findMetric } from '../catalog/catalog.ts';
import { isoOf } from '../planner/interval.ts';
import type { TenantScope } from '../planner/query.ts';
import { FeedFullError, FeedShareError, type LandedFeed, type LandedNotice } from '../subscriptions/landed-feed.ts';

/** The context of one subscription operation (built per connection from its verified token). */
export interface SubscriptionContext {
  readonly principal: Reader;
  readonly scope: TenantScope;
  /** The key of the caller's subscription share (a tenant for customers). */
  readonly caller: string;
  readonly feed: LandedFeed;
}

export function subscriptionContext(principal: Reader, feed: LandedFeed): SubscriptionContext {
  return { principal, scope: scopeOf(principal), caller: callerKey(principal), feed };
}

/** The notice as GraphQL serves it: the same fields, the interval in ISO-8601. */
export type AggregationLandedPayload = Omit<LandedNotice, 'interval'> & {
  readonly interval: { readonly start: string; readonly end: string };
};

function subscribe(
  _: unknown,
  args: { metrics?: readonly string[] | null },
  ctx: SubscriptionContext,
): AsyncIterableIterator<LandedNotice> {
  // An OTel name filters as the catalog name it maps to: notices carry catalog names.
  const metrics = args.metrics?.map((name) => {
    const metric = findMetric(name);
    if (!metric) throw new StrataError(ErrorCode.UNKNOWN_METRIC, `Unknown metric "${name}"; the metrics query lists the catalog.`);
    return metric.name;
  });
  try {
    return ctx.feed.subscribe(ctx.scope, metrics, ctx.caller);
  } catch (error) {
    // Over its share the caller is limited like a quota (its own doing); a full process is overloaded.
    if (error instanceof FeedShareError) throw new StrataError(ErrorCode.RATE_LIMITED, error.message);
    if (error instanceof FeedFullError) throw new StrataError(ErrorCode.OVERLOADED, error.message);
    throw error;
  }
}

/**
 * Over HTTP, graphql-js runs a subscription operation like a query and calls
 * `resolve` without an event: that is the one case with no payload.
 */
function resolve(notice: LandedNotice | undefined): AggregationLandedPayload {
  if (!notice) {
    throw new StrataError(
      ErrorCode.BAD_REQUEST,
      'Subscriptions are served over WebSocket (protocol graphql-transport-ws, e.g. the graphql-ws client) at ws://<host>/graphql; HTTP answers queries only.',
    );
  }
  return { ...notice, interval: { start: isoOf(notice.interval.start), end: isoOf(notice.interval.end) } };
}

/** `Subscription.aggregationLanded`: every role, scoped to the caller's tenants by the feed. */
export const aggregationLanded = { subscribe, resolve };
