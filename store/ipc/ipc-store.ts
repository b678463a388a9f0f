import { ErrorCode, StrataError, isStrataError } from '../../errors/strata-error.ts';
import type { MetricStore } from '../metric-store.ts';

/**
 * A store in another process: one process owns the real store (DuckDB lets
 * one process open a file) and answers the calls the others send it. The
 * transport is any message channel that keeps Maps and BigInts as they are
 * (node:cluster's IPC with `serialization: 'advanced'`, or an in-process
 * pair in the tests).
 */
export interface IpcChannel {
  send(message: unknown): void;
  /** Every message that arrives is handed to each handler; handlers ignore what is not theirs. */
  onMessage(handler: (message: unknown) => void): void;
}

const STORE_METHODS = ['queryPieces', 'listResources', 'usage', 'readWatermarks', 'rawDataRange', 'buildRollup', 'ping'] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];

export interface StoreCall {
  readonly t: 'store';
  readonly id: number;
  readonly method: StoreMethod;
  readonly args: unknown[];
}

/** The caller has gone (hang-up or deadline): the owner aborts that call's store query. */
export interface StoreCancel {
  readonly t: 'cancel';
  readonly id: number;
}

export interface StoreReply {
  readonly t: 'reply';
  readonly id: number;
  readonly value?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

const isStoreCall = (m: unknown): m is StoreCall => (m as StoreCall | undefined)?.t === 'store';
const isStoreReply = (m: unknown): m is StoreReply => (m as StoreReply | undefined)?.t === 'reply';
const isStoreCancel = (m: unknown): m is StoreCancel => (m as StoreCancel | undefined)?.t === 'cancel';
/** The calls whose first argument is a request that takes a signal. */
const CANCELLABLE: readonly StoreMethod[] = ['queryPieces', 'usage'];

/**
 * The owning side: runs one call on the real store and says how it went
 * (errors keep their code). `signal` reaches the store's request, so a
 * caller that went away stops the query it started, as in one process.
 */
export async function answerStoreCall(store: MetricStore, call: StoreCall, signal?: AbortSignal): Promise<StoreReply> {
  try {
    // Only the contract's methods: a message naming anything else (close, seed, ...) is refused.
    if (!STORE_METHODS.includes(call.method)) throw new Error(`not a store method: ${String(call.method)}`);
    const fn = store[call.method] as (...args: unknown[]) => Promise<unknown>;
    const [first, ...rest] = call.args;
    const args = signal && CANCELLABLE.includes(call.method) ? [{ ...(first as object), signal }, ...rest] : call.args;
    return { t: 'reply', id: call.id, value: await fn.apply(store, args) };
  } catch (error) {
    return {
      t: 'reply',
      id: call.id,
      error: {
        code: isStrataError(error) ? error.code : ErrorCode.INTERNAL,
        message: error instanceof Error ? error.message : String(error),
      },
    };
  }
}

/** The owning side of one channel: every store call that arrives is answered on the same channel; a cancel aborts its call. */
export function serveStore(store: MetricStore, channel: IpcChannel): void {
  const running = new Map<number, AbortController>();
  channel.onMessage((m) => {
    if (isStoreCancel(m)) running.get(m.id)?.abort();
    if (!isStoreCall(m)) return;
    const controller = new AbortController();
    running.set(m.id, controller);
    void answerStoreCall(store, m, controller.signal).then((reply) => {
      running.delete(m.id);
      channel.send(reply);
    });
  });
}

const cancelled = (): StrataError =>
  new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled (deadline passed or client went away).');

type Call = <T>(method: StoreMethod, args: unknown[], signal?: AbortSignal) => Promise<T>;

/** Sends calls over `channel` and settles each with the reply of the same id. */
function caller(channel: IpcChannel): Call {
  let next = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  channel.onMessage((m) => {
    const p = isStoreReply(m) ? pending.get(m.id) : undefined;
    if (!p || !isStoreReply(m)) return;
    pending.delete(m.id);
    if (m.error) p.reject(new StrataError(m.error.code as ErrorCode, m.error.message));
    else p.resolve(m.value);
  });
  return <T>(method: StoreMethod, args: unknown[], signal?: AbortSignal) =>
    new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled());
      const id = next++;
      const onAbort = (): void => {
        pending.delete(id);
        channel.send({ t: 'cancel', id } satisfies StoreCancel);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      channel.send({ t: 'store', id, method, args } satisfies StoreCall);
    });
}

const withoutSignal = <R extends { signal?: AbortSignal }>(r: R): Omit<R, 'signal'> => {
  const { signal: _signal, ...rest } = r;
  return rest;
};

/**
 * The store as another process sees it: every call answered by the owner over
 * `channel`. An AbortSignal cannot cross processes: an aborted caller stops
 * waiting at once (UPSTREAM_TIMEOUT, as every store answers) and sends a
 * cancel, so the owner aborts the store query (a hung-up tenant leaves no
 * work behind on the shared store); the late reply is dropped.
 */
export function ipcStore(channel: IpcChannel, name = 'duckdb-via-primary'): MetricStore {
  const call = caller(channel);
  return {
    name,
    queryPieces: (r) => call('queryPieces', [withoutSignal(r)], r.signal),
    listResources: (scope) => call('listResources', [scope]),
    usage: (r) => call('usage', [withoutSignal(r)], r.signal),
    readWatermarks: () => call('readWatermarks', []),
    rawDataRange: () => call('rawDataRange', []),
    buildRollup: (rollup, interval) => call('buildRollup', [rollup, interval]),
    ping: () => call('ping', []),
    close: async () => undefined,
  };
}
