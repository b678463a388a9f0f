import type { Span } from '@opentelemetry/api';
import type { ResultCache } from '../cache/result-cache.ts';
import { observeEvent, traceConsumer } from '../observability/event-trace.ts';
import { parseAggregationEvent } from './aggregation-event.ts';
import type { BusMessage } from './event-bus.ts';
import { parseTraceparent } from '../observability/trace-context.ts';
import type { WatermarkRegistry } from './watermark-registry.ts';
import { scopesOfTenants } from '../planner/query.ts';

export interface ListenerStats {
  applied: number;
  duplicates: number;
  rejected: number;
  lastAppliedAt: number | undefined;
}

export interface ListenerDeps {
  readonly watermarks: WatermarkRegistry;
  readonly cache: ResultCache;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly now: () => number;
  /** Told after an event is applied (caches invalidated, watermark advanced): live subscriptions. Must not throw. */
  readonly onApplied?: (applied: AppliedAggregation) => void;
}

/** An applied event, as the live subscriptions need it. */
export interface AppliedAggregation {
  readonly eventId: string;
  readonly rollup: string;
  readonly interval: { readonly start: number; readonly end: number };
  readonly tenants: readonly string[];
  readonly metrics: readonly string[];
  readonly publishedAt: string;
}

/**
 * Applies `aggregation.published` events: validate, advance the watermark,
 * invalidate exactly the affected cache generations. A malformed message is
 * counted and skipped (resolving, so the bus commits past it); an
 * invalidation failure rejects, so the bus does not commit and redelivers.
 * Re-applying an event is harmless, so duplicates need no special path.
 */
export class AggregationListener {
  readonly stats: ListenerStats = { applied: 0, duplicates: 0, rejected: 0, lastAppliedAt: undefined };
  private readonly seen = new Set<string>();
  /** The trace context of the last applied event (tracing links the invalidation to its producer). */
  lastTraceparent: string | undefined;

  constructor(private readonly deps: ListenerDeps) {}

  /** Each message is handled in a consumer span linked to its producer's `traceparent`. */
  readonly handle = (message: BusMessage): Promise<void> => traceConsumer(message.headers, (span) => this.apply(message, span));

  private async apply(message: BusMessage, span: Span | undefined): Promise<void> {
    const parsed = parseAggregationEvent(message.value, this.deps.watermarks.rollups());
    if (!parsed.ok) {
      this.stats.rejected += 1;
      observeEvent(span, 'rejected');
      this.deps.log({ level: 'warn', msg: 'aggregation event rejected', reason: parsed.reason, bytes: message.value.length });
      return;
    }
    const { event, datasource, interval } = parsed.value;
    if (this.seen.has(event.eventId)) {
      this.stats.duplicates += 1;
      observeEvent(span, 'duplicate');
    }
    await this.deps.cache.invalidate(scopesOfTenants(event.tenants), event.metrics, interval);
    this.deps.watermarks.advance(datasource, interval);
    this.remember(event.eventId);
    this.stats.applied += 1;
    observeEvent(span, 'applied', event.eventId, datasource);
    this.stats.lastAppliedAt = this.deps.now();
    this.lastTraceparent = parseTraceparent(message.headers['traceparent']);
    this.notify({
      eventId: event.eventId,
      rollup: datasource,
      interval,
      tenants: event.tenants,
      metrics: event.metrics,
      publishedAt: event.publishedAt,
    });
    this.deps.log({
      level: 'debug',
      msg: 'aggregation event applied',
      eventId: event.eventId,
      datasource,
      interval: event.interval,
      traceparent: parseTraceparent(message.headers['traceparent']),
    });
  }

  /** A failing notification must not fail the event: the invalidation is done and must be committed. */
  private notify(applied: AppliedAggregation): void {
    try {
      this.deps.onApplied?.(applied);
    } catch (error) {
      this.deps.log({ level: 'error', msg: 'aggregation notification failed', eventId: applied.eventId, error: String(error) });
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > 10_000) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
