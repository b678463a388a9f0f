import { cancelledError, untilAborted } from './cancellation.ts';

interface Flight<T> {
  readonly result: Promise<T>;
  readonly controller: AbortController;
  readonly keys: readonly string[];
  waiters: number;
}

/**
 * Identical concurrent misses share one store query (single-flight), and the
 * shared query has a signal of its own: it is cancelled only once every
 * caller waiting for it has gone, so one caller's hang-up never fails
 * another's identical question. Each caller stops waiting as soon as its own
 * signal aborts.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** How many flights are running. */
  get size(): number {
    return new Set(this.flights.values()).size;
  }

  /**
   * For each key, a promise of the flight that answers it: a running one
   * joined, or one flight started, by `start`, for every key not running
   * (given their indexes in `keys`, and the flight's own signal).
   */
  join(
    keys: readonly string[],
    signal: AbortSignal | undefined,
    start: (missing: readonly number[], signal: AbortSignal) => Promise<T>,
  ): Promise<T>[] {
    if (signal?.aborted) return keys.map(() => Promise.reject(cancelledError(signal)));
    const perKey = keys.map((k) => this.flights.get(k));
    const missing = perKey.flatMap((f, i) => (f ? [] : [i]));
    if (missing.length > 0) {
      const flight = this.launch(
        missing.map((i) => keys[i] as string),
        (s) => start(missing, s),
      );
      for (const i of missing) perKey[i] = flight;
    }
    const flights = new Set(perKey as Flight<T>[]);
    for (const f of flights) f.waiters += 1;
    if (signal) this.leaveOnAbort(flights, signal);
    // One wait per flight, not per key: a batch of a thousand pieces adds two listeners to the signal, not a thousand.
    const waits = new Map([...flights].map((f) => [f, untilAborted(f.result, signal)]));
    return (perKey as Flight<T>[]).map((f) => waits.get(f) as Promise<T>);
  }

  private launch(keys: string[], run: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = { result: run(controller.signal), controller, keys, waiters: 0 };
    for (const k of keys) this.flights.set(k, flight);
    const cleanup = (): void => this.forget(flight);
    flight.result.then(cleanup, cleanup);
    return flight;
  }

  private forget(flight: Flight<T>): void {
    for (const k of flight.keys) if (this.flights.get(k) === flight) this.flights.delete(k);
  }

  /** A caller that goes leaves each flight once; the last to leave cancels it, with its own reason. */
  private leaveOnAbort(flights: ReadonlySet<Flight<T>>, signal: AbortSignal): void {
    const leave = (): void => {
      for (const f of flights) {
        f.waiters -= 1;
        if (f.waiters > 0) continue;
        this.forget(f); // a caller arriving now starts afresh rather than join a cancelled query
        f.controller.abort(signal.reason);
      }
    };
    signal.addEventListener('abort', leave, { once: true });
    const done = (): void => signal.removeEventListener('abort', leave);
    Promise.allSettled([...flights].map((f) => f.result)).then(done, done);
  }
}
