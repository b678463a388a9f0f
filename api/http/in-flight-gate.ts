/**
 * Load shedding: at most `capacity` GraphQL requests run at once in this
 * process. Beyond that a request is refused at once (503 + Retry-After) rather
 * than queued, so latency stays bounded and the store is never flooded; a
 * client's retry lands on a less busy moment or replica. While draining, no
 * new request enters at all.
 */
export class InFlightGate {
  private active = 0;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get inFlight(): number {
    return this.active;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** 'ok' (the caller must call leave() once done), 'full' or 'draining'. */
  tryEnter(): 'ok' | 'full' | 'draining' {
    if (this.draining) return 'draining';
    if (this.active >= this.capacity) return 'full';
    this.active++;
    return 'ok';
  }

  leave(): void {
    this.active = Math.max(0, this.active - 1);
    if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Stops admitting; resolves when every admitted request has left. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
