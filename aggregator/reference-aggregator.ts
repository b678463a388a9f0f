import { CATALOG, MINUTE_MS, type Catalog, type RollupName } from '../catalog/catalog.ts';
import { newAggregationEvent, type AggregationEvent } from '../events/aggregation-event.ts';
import type { EventBus } from '../events/event-bus.ts';
import { traceAggregation } from '../observability/event-trace.ts';
import { alignDown } from '../planner/interval.ts';
import type { Interval } from '../planner/query.ts';
import type { MetricStore } from '../store/metric-store.ts';

/** Raw data may arrive five minutes late by default. */
export const DEFAULT_LATENESS_MS = 5 * MINUTE_MS;

export interface AggregatorOptions {
  /** Raw data may arrive this late; a bucket closes only after it. */
  readonly latenessMs: number;
  /** Whose rollups it builds (default: the service catalog). */
  readonly catalog?: Catalog;
  /** Where received late data waits for its buckets to be rebuilt (the write path's LateMinutes, ingest/point-writer.ts). */
  readonly lateData?: LateData;
}

/** Minutes that changed after their buckets were built, handed over once (see ingest/point-writer.ts). */
export interface LateData {
  takeLateMinutes(): Promise<number[]>;
  putBackLateMinutes(minutes: readonly number[]): Promise<void>;
  /**
   * Runs `work` while no write runs. A build runs so: a write either commits
   * before it (the build reads its points) or starts after it (and sees the
   * new watermark, so it marks its minutes late); a write overlapping a build
   * would do neither, and its points would miss the rollup.
   */
  whileNoWrites<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * The reference aggregator (the upstream job in production is Kafka Streams):
 * computes rollups for closed intervals, waits until they are queryable (the
 * store call returns only then), and only then publishes one event per build.
 */
export class ReferenceAggregator {
  constructor(
    private readonly store: MetricStore,
    private readonly bus: EventBus,
    private readonly now: () => number,
    private readonly options: AggregatorOptions = { latenessMs: DEFAULT_LATENESS_MS },
  ) {}

  /** Catches every rollup up to its last closed bucket; returns the events published. */
  async runOnce(): Promise<AggregationEvent[]> {
    const range = await this.store.rawDataRange();
    if (!range) return [];
    const marks = await this.store.readWatermarks();
    const events = await this.rebuildLate(marks);
    for (const rollup of [...(this.options.catalog ?? CATALOG).rollups].sort((a, b) => a.bucketMs - b.bucketMs)) {
      const from = Math.max(marks[rollup.name] ?? 0, alignDown(range.start, rollup.bucketMs));
      const closedUntil = alignDown(Math.min(this.now() - this.options.latenessMs, range.end), rollup.bucketMs);
      if (closedUntil > from) events.push(await this.publish(rollup.name, { start: from, end: closedUntil }));
    }
    return events;
  }

  /**
   * Late data first: every built bucket holding a minute that received
   * points since its build is rebuilt and published again (so the listener
   * invalidates it and subscribers hear of it); minutes past a rollup's
   * watermark are left to its catch-up. A failed rebuild puts the minutes back.
   */
  private async rebuildLate(marks: Readonly<Record<string, number>>): Promise<AggregationEvent[]> {
    const minutes = (await this.options.lateData?.takeLateMinutes()) ?? [];
    const events: AggregationEvent[] = [];
    try {
      for (const rollup of (this.options.catalog ?? CATALOG).rollups) {
        for (const interval of bucketRuns(minutes, rollup.bucketMs, marks[rollup.name] ?? 0))
          events.push(await this.publish(rollup.name, interval));
      }
    } catch (error) {
      await this.options.lateData?.putBackLateMinutes(minutes);
      throw error;
    }
    return events;
  }

  /** Rebuilds a rollup over an aligned interval (e.g. after late data) and publishes it again. */
  async publish(rollup: RollupName, interval: Interval, headers: Record<string, string> = {}): Promise<AggregationEvent> {
    return traceAggregation(rollup, async (traceparent) => {
      const build = (): ReturnType<MetricStore['buildRollup']> => this.store.buildRollup(rollup, interval);
      const touched = await (this.options.lateData ? this.options.lateData.whileNoWrites(build) : build());
      const event = newAggregationEvent(rollup, interval, touched.tenants, touched.metrics, this.now());
      // The trace context travels in the message headers, so the listener's work links to this aggregation.
      if (touched.tenants.length > 0 && touched.metrics.length > 0) await this.bus.publish(event, { traceparent, ...headers });
      return event;
    });
  }
}

/** The buckets of `bucketMs` holding `minutes` (sorted) that start before `watermark`, as runs of adjacent buckets. */
export function bucketRuns(minutes: readonly number[], bucketMs: number, watermark: number): Interval[] {
  const runs: { start: number; end: number }[] = [];
  for (const minute of minutes) {
    const start = alignDown(minute, bucketMs);
    if (start >= watermark) continue;
    const last = runs[runs.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, start + bucketMs);
    else runs.push({ start, end: start + bucketMs });
  }
  return runs;
}
