import PQueue from 'p-queue';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { TenantScope } from '../planner/query.ts';
import type { IngestPoint } from './ingest-point.ts';
import type { LateMinutes, PointWriter, WriteResult } from './point-writer.ts';

/**
 * Backpressure for the write path: one write at a time (the embedded store
 * has one writer; concurrent write transactions over the same rows would
 * conflict and fail), and at most `maxPoints` points waiting or being
 * written. A request that would pass the bound is refused at once with
 * OVERLOADED and a Retry-After, so the memory held by waiting writes is
 * bounded and a sender's retry (OTLP senders retry 503) comes back later.
 */
export class BoundedPointWriter implements PointWriter, LateMinutes {
  private readonly queue = new PQueue({ concurrency: 1 });
  private held = 0;

  constructor(
    private readonly inner: PointWriter & LateMinutes,
    readonly maxPoints: number,
  ) {}

  /** In the writes' queue: a write's transaction and the hand-over of late minutes never run at once (they would conflict). */
  takeLateMinutes(): Promise<number[]> {
    return this.queue.add(() => this.inner.takeLateMinutes());
  }

  putBackLateMinutes(minutes: readonly number[]): Promise<void> {
    return this.queue.add(() => this.inner.putBackLateMinutes(minutes));
  }

  /** Points waiting or being written. */
  get pending(): number {
    return this.held;
  }

  async write(points: readonly IngestPoint[], scope: TenantScope): Promise<WriteResult> {
    if (points.length > this.maxPoints) {
      throw new StrataError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        `The request holds ${points.length} data points, over the ${this.maxPoints} the write queue holds (STRATA_OTLP_QUEUE_POINTS); send smaller batches.`,
      );
    }
    if (this.held + points.length > this.maxPoints) {
      throw new StrataError(
        ErrorCode.OVERLOADED,
        `The write queue holds ${this.held} data points; ${points.length} more would pass its bound of ${this.maxPoints}. Retry after the Retry-After delay.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.held += points.length;
    try {
      return await this.queue.add(() => this.inner.write(points, scope));
    } finally {
      this.held -= points.length;
    }
  }
}
