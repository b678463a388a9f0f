import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { cancelledError } from './cancellation.ts';

export interface StoreSlotOptions {
  /** Store queries one caller (tenant, or internal/billing subject) runs at once; 0 = unbounded. */
  readonly perCaller: number;
  /** Store queries of one caller waiting for a slot; beyond that, OVERLOADED at once. */
  readonly waitingPerCaller: number;
}

export const DEFAULT_STORE_SLOTS: StoreSlotOptions = { perCaller: 2, waitingPerCaller: 32 };

interface Line {
  running: number;
  readonly waiting: (() => void)[];
}

/**
 * Fair shares of the store: each caller's store queries run at most
 * `perCaller` at a time, the rest wait in the caller's own line. However
 * much one tenant sends, it holds that many of the store's connections and
 * no more, so another tenant's query waits behind at most that many of its
 * queries, never behind its whole backlog. Lines exist only while in use.
 *
 * Written here rather than with p-queue: p-queue frees a slot as soon as a
 * running task's signal aborts, before the store work has stopped, so a
 * caller that hangs up again and again would run more than its share.
 */
export class StoreSlots {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly options: StoreSlotOptions = DEFAULT_STORE_SLOTS) {}

  /** Store queries running and waiting for `caller`. */
  load(caller: string): number {
    const line = this.lines.get(caller);
    return line ? line.running + line.waiting.length : 0;
  }

  async run<T>(caller: string, work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.options.perCaller <= 0) return work();
    const line = this.lines.get(caller) ?? { running: 0, waiting: [] };
    this.lines.set(caller, line);
    if (line.running >= this.options.perCaller) await this.wait(line, signal);
    else line.running += 1;
    try {
      return await work();
    } finally {
      this.release(caller, line);
    }
  }

  /** Waits for a slot handed over by a finishing query; leaves the line if the signal aborts first. */
  private wait(line: Line, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    if (line.waiting.length >= this.options.waitingPerCaller) {
      return Promise.reject(
        new StrataError(
          ErrorCode.OVERLOADED,
          `This tenant has ${line.running} store queries running and ${line.waiting.length} waiting, its limit; retry after the Retry-After delay.`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = line.waiting.indexOf(handOver);
        if (at >= 0) line.waiting.splice(at, 1);
        reject(cancelledError(signal as AbortSignal));
      };
      const handOver = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      line.waiting.push(handOver);
    });
  }

  /** A finishing query hands its slot to the next in line, or gives it back. */
  private release(caller: string, line: Line): void {
    const next = line.waiting.shift();
    if (next) {
      next();
      return;
    }
    line.running -= 1;
    if (line.running === 0 && this.lines.get(caller) === line) this.lines.delete(caller);
  }
}
