import type { RollupName } from '../catalog/catalog.ts';
import type { Interval } from '../planner/query.ts';

/**
 * How far each rollup is complete. It moves forward only, and only over
 * contiguous intervals: an event that arrives ahead of a gap waits until the
 * gap is filled, so the planner never routes to buckets that are not there.
 */
export class WatermarkRegistry {
  private readonly marks: Record<RollupName, number>;
  private readonly pending: Record<RollupName, Interval[]> = { rollup_1h: [], rollup_1d: [] };

  constructor(initial: Record<RollupName, number>) {
    this.marks = { ...initial };
  }

  snapshot(): Readonly<Record<RollupName, number>> {
    return { ...this.marks };
  }

  /** Returns true when the watermark moved. */
  advance(rollup: RollupName, interval: Interval): boolean {
    const before = this.marks[rollup];
    this.pending[rollup].push(interval);
    let moved = true;
    while (moved) {
      moved = false;
      const list = this.pending[rollup];
      for (let i = list.length - 1; i >= 0; i--) {
        const p = list[i];
        if (p && p.start <= this.marks[rollup]) {
          this.marks[rollup] = Math.max(this.marks[rollup], p.end);
          list.splice(i, 1);
          moved = true;
        }
      }
    }
    return this.marks[rollup] !== before;
  }
}
