import { MINUTE_MS, type SeriesLayout, ShardBodies } from './otlp-bodies.ts';
import type { PushBody } from './otlp-push.ts';

/** What push() asks each sender for: the next body of its shard, or undefined when it is done. */
export type Feed = (sender: number) => PushBody | undefined;

/**
 * Every body of `steps` steps of every shard, encoded before the clock
 * starts (the throughput rounds time the sending only). The arrays are kept,
 * so one encoding serves every round of a layout.
 */
export function encodeAll(layout: SeriesLayout, steps: number, prefix: string): Buffer[][] {
  return Array.from({ length: layout.shards }, (_, shard) => {
    const bodies = new ShardBodies(layout, shard, prefix);
    return Array.from({ length: steps }, (_, step) => bodies.body(step));
  });
}

/** A feed over pre-encoded bodies: sender k sends shard k's steps in time order. */
export function replay(encoded: readonly (readonly Buffer[])[], pointsPerBody: number): Feed {
  const next = encoded.map(() => 0);
  return (k) => {
    const step = next[k] ?? 0;
    const body = encoded[k]?.[step];
    if (!body) return undefined;
    next[k] = step + 1;
    return { body, points: pointsPerBody };
  };
}

/** How far back an endless push starts: inside STRATA_OTLP_MAX_LATENESS (48 h by default), with 2 h to spare for a run. */
const ENDLESS_BACK_MS = 46 * 60 * MINUTE_MS;
/** An endless push stays this far behind the wall clock (the receiver refuses points more than 5 min ahead). */
const ENDLESS_AHEAD_MS = 2 * MINUTE_MS;

/**
 * A push without end, until stop(): each shard's series step forward from
 * 46 h ago, one step per request; a shard that catches up with the clock
 * starts a new generation of series (new topic names) from 46 h ago again.
 * So a push at any speed, for any length, stays inside the lateness window
 * and every series in time order, and the bodies are patched copies of one
 * template per shard and generation (bench/lib/otlp-bodies.ts), which costs
 * the bench little CPU next to the server's.
 */
export class EndlessFeed {
  private readonly layout: SeriesLayout;
  private readonly steps: number[];
  private readonly generations: number[];
  private readonly bodies: ShardBodies[];
  private stopped = false;

  constructor(base: Omit<SeriesLayout, 't0Ms'>) {
    const t0Ms = Math.floor((Date.now() - ENDLESS_BACK_MS) / MINUTE_MS) * MINUTE_MS;
    this.layout = { ...base, t0Ms };
    this.steps = Array.from({ length: base.shards }, () => 0);
    this.generations = Array.from({ length: base.shards }, () => 0);
    this.bodies = Array.from({ length: base.shards }, (_, k) => new ShardBodies(this.layout, k, 'g0-'));
  }

  readonly next: Feed = (k) => {
    if (this.stopped) return undefined;
    let step = this.steps[k] ?? 0;
    if (this.layout.t0Ms + step * this.layout.stepMs > Date.now() - ENDLESS_AHEAD_MS) {
      const generation = (this.generations[k] ?? 0) + 1;
      this.generations[k] = generation;
      this.bodies[k] = new ShardBodies(this.layout, k, `g${generation}-`);
      step = 0;
    }
    this.steps[k] = step + 1;
    const bodies = this.bodies[k]!;
    return { body: bodies.body(step), points: bodies.points };
  };

  /** Generations started after the first (how often a shard caught up with the clock). */
  get rollovers(): number {
    return this.generations.reduce((a, b) => a + b, 0);
  }

  stop(): void {
    this.stopped = true;
  }
}
