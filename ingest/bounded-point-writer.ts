import PQueue from 'p-queue';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { scopeId, type TenantScope } from '../planner/query.ts';
import type { IngestPoint } from './ingest-point.ts';
import type { LateMinutes, PointWriter, WriteResult } from './point-writer.ts';

/**
 * Backpressure for the write path: one write at a time (the embedded store
 * has one writer; concurrent write transactions over the same rows would
 * conflict and fail), and at most `maxPoints` points waiting or being
 * written, and one caller (a tenant, or a collector's subject) stacks writes
 * behind its own only up to a quarter of that: a flood of one tenant's writes
 * leaves room for the others'.
 * A request that would pass a bound is refused at once with OVERLOADED and a
 * Retry-After, so the memory held by waiting writes is bounded and a sender's
 * retry (OTLP senders retry 503) comes back later.
 */
export class BoundedPointWriter implements PointWriter, LateMinutes {
  private readonly queue = new PQueue({ concurrency: 1 });
  private held = 0;
  private readonly heldBy = new Map<string, number>();

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

  /** A caller's share of the queue, in points. */
  get maxPointsPerCaller(): number {
    return Math.max(1, Math.floor(this.maxPoints / 4));
  }

  /** `caller` keys the caller's share (auth/principal.ts callerKey); without one, the scope's tenant does. */
  async write(points: readonly IngestPoint[], scope: TenantScope, caller = scopeId(scope)): Promise<WriteResult> {
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
    const mine = this.heldBy.get(caller) ?? 0;
    // A caller's first write waits whatever its size (within the queue); more stacked behind it, only within its share.
    if (mine > 0 && mine + points.length > this.maxPointsPerCaller) {
      throw new StrataError(
        ErrorCode.OVERLOADED,
        `Your writes waiting hold ${mine} data points; ${points.length} more would pass your share of ${this.maxPointsPerCaller} (a quarter of STRATA_OTLP_QUEUE_POINTS). Retry after the Retry-After delay.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.hold(caller, points.length);
    try {
      return await this.queue.add(() => this.inner.write(points, scope));
    } finally {
      this.hold(caller, -points.length);
    }
  }

  private hold(caller: string, points: number): void {
    this.held += points;
    const left = (this.heldBy.get(caller) ?? 0) + points;
    if (left > 0) this.heldBy.set(caller, left);
    else this.heldBy.delete(caller);
  }
}
