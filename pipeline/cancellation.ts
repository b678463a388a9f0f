import { ErrorCode, StrataError } from '../errors/strata-error.ts';

/**
 * Why a request's work was cancelled. The edge aborts a request's signal with
 * one of these reasons, so that lower layers can tell a caller that hung up
 * (its own doing: never a store failure) from Strata's own deadline passing
 * (the store was too slow for this request).
 */
export class CallerGone extends Error {
  override readonly name = 'CallerGone';

  constructor() {
    super('The client went away before its answer was ready.');
  }
}

export class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';

  constructor(readonly timeoutMs: number) {
    super(`No answer within the query deadline of ${timeoutMs} ms.`);
  }
}

/** Whether a signal was aborted by its caller (anything but Strata's own deadline). */
export const abortedByCaller = (signal: AbortSignal | undefined): boolean =>
  signal?.aborted === true && !(signal.reason instanceof DeadlinePassed);

/** The error a cancelled wait rejects with: the same code stores use for a cancelled query. */
export function cancelledError(signal: AbortSignal): StrataError {
  const reason: unknown = signal.reason;
  if (reason instanceof DeadlinePassed) {
    return new StrataError(
      ErrorCode.UPSTREAM_TIMEOUT,
      `The metrics store did not answer within the query deadline of ${Math.ceil(reason.timeoutMs / 1000)} s. Retry, or ask for a shorter interval.`,
    );
  }
  return new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled: the client went away.');
}

/** Resolves with `work`, or rejects as soon as `signal` aborts (the work itself goes on). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelledError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
