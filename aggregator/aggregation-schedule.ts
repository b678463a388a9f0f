import type { AggregationEvent } from '../events/aggregation-event.ts';

interface Aggregator {
  runOnce(): Promise<AggregationEvent[]>;
}

export interface AggregationSchedule {
  /** The first catch-up, run at once: the caller decides whether its failure stops the start. */
  readonly first: Promise<AggregationEvent[]>;
  stop(): void;
}

/**
 * Runs the aggregator once now, then every `everyMs` (0: only now). A later
 * run that fails is reported and the schedule goes on; runs never overlap, so
 * a slow rebuild is not started again beside itself.
 */
export function aggregateOnSchedule(aggregator: Aggregator, everyMs: number, onError: (error: unknown) => void): AggregationSchedule {
  let running: Promise<unknown> = Promise.resolve();
  const first = aggregator.runOnce();
  running = first.catch(() => undefined);
  const tick = (): void => {
    running = running.then(() => aggregator.runOnce()).catch(onError);
  };
  const timer = everyMs > 0 ? setInterval(tick, everyMs) : undefined;
  return { first, stop: () => clearInterval(timer) };
}
