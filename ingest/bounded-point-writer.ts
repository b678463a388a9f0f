import PQueue from 'p-queue';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { scopeId, type TenantScope } from '../planner/query.ts';
import type { IngestPoint } from './ingest-point.ts';
import type { GroupPointWriter, LateMinutes, PointWrite, PointWriter, WriteResult } from './point-writer.ts';

/** The most points one group commit holds: bigger groups pay less per point, but the last write waits for the whole group. */
export const GROUP_POINTS = 20_000;

interface Waiting {
  readonly write: PointWrite;
  readonly caller: string;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Backpressure for the write path: one write at a time (the embedded store
 * has one writer; concurrent write transactions over the same rows would
 * conflict and fail), and at most `maxPoints` points waiting or being
 * written, and one caller (a tenant, or a collector's subject) stacks writes
 * behind its own only up to a quarter of that: a flood of one tenant's writes
 * leaves room for the others'.
 * Writes waiting when the writer frees up go together in one transaction
 * (group commit, at most GROUP_POINTS points), so throughput grows with the
 * number of senders instead of paying a transaction per small request; the
 * callers waiting take turns in a group, so one caller's backlog does not
 * hold another's write back.
 * A request that would pass a bound is refused at once with OVERLOADED and a
 * Retry-After, so the memory held by waiting writes is bounded and a sender's
 * retry (OTLP senders retry 503) comes back later.
 */
export class BoundedPointWriter implements PointWriter, LateMinutes {
  private readonly queue = new PQueue({ concurrency: 1 });
  private held = 0;
  private readonly heldBy = new Map<string, number>();
  private readonly waiting: Waiting[] = [];
  private drainQueued = false;

  constructor(
    private readonly inner: GroupPointWriter & LateMinutes,
    readonly maxPoints: number,
  ) {}

  /** In the writes' queue: a write's transaction and the hand-over of late minutes never run at once (they would conflict). */
  takeLateMinutes(): Promise<number[]> {
    return this.queue.add(() => this.inner.takeLateMinutes());
  }

  putBackLateMinutes(minutes: readonly number[]): Promise<void> {
    return this.queue.add(() => this.inner.putBackLateMinutes(minutes));
  }

  /** Work that must not overlap a write (a rollup build: see aggregator/reference-aggregator.ts LateData), in the writes' queue. */
  whileNoWrites<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.add(work);
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
      return await this.enqueue({ points, scope }, caller);
    } finally {
      this.hold(caller, -points.length);
    }
  }

  private enqueue(write: PointWrite, caller: string): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => {
      this.waiting.push({ write, caller, resolve, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.drainQueued || this.waiting.length === 0) return;
    this.drainQueued = true;
    void this.queue.add(() => this.drain());
  }

  /** Writes the writes waiting now, up to GROUP_POINTS points (the first whatever its size), in one transaction. */
  private async drain(): Promise<void> {
    this.drainQueued = false;
    const group = this.nextGroup();
    this.scheduleDrain();
    try {
      const results = await this.inner.writeGroup(group.map((g) => g.write));
      for (const [i, g] of group.entries()) g.resolve(results[i] as WriteResult);
    } catch (error) {
      if (group.length === 1) group[0]?.reject(error);
      // One write's failure must not fail the others: each alone, to find it.
      else for (const g of group) await this.inner.writeGroup([g.write]).then(([r]) => g.resolve(r as WriteResult), g.reject);
    }
  }

  /**
   * The next group: the callers waiting take turns, each its oldest write
   * first, until the group is full. So a caller's flood fills groups only
   * with what the other callers leave, and another tenant's write goes in
   * the next group instead of behind the whole flood; one caller's writes
   * keep their order (a sender's points of a series come in time order).
   */
  private nextGroup(): Waiting[] {
    const byCaller = new Map<string, Waiting[]>();
    for (const w of this.waiting) {
      const list = byCaller.get(w.caller);
      if (list) list.push(w);
      else byCaller.set(w.caller, [w]);
    }
    const group: Waiting[] = [];
    let points = 0;
    for (let taken = true; taken; ) {
      taken = false;
      for (const list of byCaller.values()) {
        const next = list[0];
        if (!next || (group.length > 0 && points + next.write.points.length > GROUP_POINTS)) continue;
        group.push(list.shift() as Waiting);
        points += next.write.points.length;
        taken = true;
      }
    }
    const chosen = new Set(group);
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((w) => !chosen.has(w)));
    return group;
  }

  private hold(caller: string, points: number): void {
    this.held += points;
    const left = (this.heldBy.get(caller) ?? 0) + points;
    if (left > 0) this.heldBy.set(caller, left);
    else this.heldBy.delete(caller);
  }
}
