import type { RollupName } from '../catalog/catalog.ts';
import type { Interval } from '../planner/query.ts';

/**
 * How far each rollup is complete. It moves forward only, and only over
 * contiguous intervals: an event that arrives ahead of a gap waits until the
 * gap is filled, so the planner never routes to buckets that are not there.
 * A rollup never built (0) begins at its first build, which starts at the
 * first data's bucket (a store filled only by received telemetry).
 */
export class WatermarkRegistry {
  private readonly marks: Record<RollupName, number>;
  private readonly pending = new Map<RollupName, Interval[]>();

  /** `initial` names every rollup of the catalog: a rollup it does not name is never advanced. */
  constructor(initial: Record<RollupName, number>) {
    this.marks = { ...initial };
    for (const name of Object.keys(initial)) this.pending.set(name, []);
  }

  /** The rollups it tracks: an event for another is not this service's. */
  rollups(): RollupName[] {
    return [...this.pending.keys()];
  }

  snapshot(): Readonly<Record<RollupName, number>> {
    return { ...this.marks };
  }

  /** Returns true when the watermark moved. */
  advance(rollup: RollupName, interval: Interval): boolean {
    const list = this.pending.get(rollup);
    const before = this.marks[rollup];
    if (!list || before === undefined) return false;
    list.push(interval);
    // 0 is "never built": the first build starts where the data starts, so its start is where the rollup begins.
    let mark = before === 0 ? Math.min(...list.map((p) => p.start)) : before;
    let moved = true;
    while (moved) {
      moved = false;
      for (let i = list.length - 1; i >= 0; i--) {
        const p = list[i];
        if (p && p.start <= mark) {
          mark = Math.max(mark, p.end);
          list.splice(i, 1);
          moved = true;
        }
      }
    }
    this.marks[rollup] = mark;
    return mark !== before;
  }
}
