import cluster from 'node:cluster';
import type { Config } from '../config/config.ts';
import type { AggregationEvent } from '../events/aggregation-event.ts';
import type { EventBus, MessageHandler } from '../events/event-bus.ts';
import { MemoryBus } from '../events/memory-bus.ts';
import { ReferenceAggregator } from '../aggregator/reference-aggregator.ts';
import { aggregateOnSchedule } from '../aggregator/aggregation-schedule.ts';
import { startupProblem } from './startup-problem.ts';
import type { MetricStore } from '../store/metric-store.ts';
import { busFromConfig } from './compose.ts';
import { ErrorCode, StrataError, isStrataError } from '../errors/strata-error.ts';

/**
 * STRATA_WORKERS > 1: node:cluster runs that many HTTP workers on one port.
 *
 * DuckDB lets one process open a file, so with the embedded store the primary
 * owns it: workers send store calls over IPC (structured clone, so Maps and
 * BigInts travel as they are), and the primary runs the reference aggregator,
 * forwarding its events to every worker's in-process bus. With Druid each
 * worker opens its own client; with Kafka each worker is a replica with its
 * own consumer group (`<STRATA_REPLICA_ID>-w<n>`, stable across restarts).
 */

type StoreMethod = 'queryPieces' | 'listResources' | 'usage' | 'readWatermarks' | 'rawDataRange' | 'buildRollup' | 'ping';
interface StoreCall {
  readonly t: 'store';
  readonly id: number;
  readonly method: StoreMethod;
  readonly args: unknown[];
}
interface StoreReply {
  readonly t: 'reply';
  readonly id: number;
  readonly value?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}
interface EventMessage {
  readonly t: 'event';
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Worker n of the cluster (1-based), or undefined in a single process. */
export const workerId = (): number | undefined => (cluster.isWorker ? cluster.worker?.id : undefined);

/** The config a worker runs with: its own Kafka consumer group. */
export function workerConfig(config: Config): Config {
  const id = workerId();
  return id === undefined ? config : { ...config, events: { ...config.events, replicaId: `${config.events.replicaId}-w${id}` } };
}

/** Forks the workers, serves their store calls, runs the aggregator; resolves with the port they share. */
export async function runPrimary(
  config: Config,
  store: MetricStore,
  log: (line: string) => void,
): Promise<{ port: number; stop(): Promise<void> }> {
  cluster.setupPrimary({ serialization: 'advanced' });
  const workers = Array.from({ length: config.workers }, () => cluster.fork());
  for (const w of workers) w.on('message', (m: StoreCall) => void answer(store, m).then((reply) => w.isConnected() && w.send(reply)));
  const ports = await Promise.all(
    workers.map((w) => new Promise<number>((resolve) => w.once('listening', (address) => resolve(address.port)))),
  );
  const bus: EventBus = config.events.kind === 'kafka' ? await busFromConfig(config) : forwardingBus(workers);
  const clock = (): number => config.fixedNow ?? Date.now();
  const schedule = aggregateOnSchedule(new ReferenceAggregator(store, bus, clock), config.aggregateEveryMs, (e) =>
    log(`aggregator failed: ${String(e)}`),
  );
  // Caught up before the port is announced, as a single process is; a failure stops the start as there.
  await schedule.first.catch((e: unknown) => {
    throw startupProblem(config, e);
  });
  return {
    port: ports[0] ?? config.port,
    async stop() {
      schedule.stop();
      await Promise.all(
        workers.map((w) =>
          w.isDead()
            ? undefined
            : new Promise((resolve) => {
                w.once('exit', resolve);
                w.kill('SIGTERM');
              }),
        ),
      );
      await bus.close();
    },
  };
}

async function answer(store: MetricStore, call: StoreCall): Promise<StoreReply> {
  if (call?.t !== 'store') return { t: 'reply', id: -1 };
  try {
    const fn = store[call.method] as (...args: unknown[]) => Promise<unknown>;
    return { t: 'reply', id: call.id, value: await fn.apply(store, call.args) };
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

/** The primary's bus for the embedded mode: each event goes to every worker's in-process bus. */
function forwardingBus(workers: ReturnType<typeof cluster.fork>[]): EventBus {
  const send = async (value: Buffer, headers: Record<string, string> = {}): Promise<void> => {
    const message: EventMessage = { t: 'event', value: value.toString('utf8'), headers };
    for (const w of workers) if (w.isConnected()) w.send(message);
  };
  return {
    name: 'cluster-forward',
    publish: (event: AggregationEvent, headers?: Record<string, string>) => send(Buffer.from(JSON.stringify(event)), headers),
    publishRaw: send,
    subscribe: async (_handler: MessageHandler) => undefined,
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/** A worker's bus in the embedded mode: events the primary forwards, delivered in order. */
export function workerBus(): EventBus {
  const bus = new MemoryBus();
  process.on('message', (m: EventMessage) => {
    if (m?.t === 'event') void bus.publishRaw(Buffer.from(m.value, 'utf8'), m.headers).catch(() => undefined);
  });
  return bus;
}

/** The store as a worker sees it in the embedded mode: every call answered by the primary. */
export function workerStore(): MetricStore {
  let next = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  process.on('message', (m: StoreReply) => {
    const p = m?.t === 'reply' ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new StrataError(m.error.code as ErrorCode, m.error.message));
    else p.resolve(m.value);
  });
  const call = <T>(method: StoreMethod, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      process.send?.({ t: 'store', id, method, args } satisfies StoreCall);
    });
  // An AbortSignal cannot cross processes: the primary's query runs to its own timeout.
  const withoutSignal = <R extends { signal?: AbortSignal }>(r: R): Omit<R, 'signal'> => {
    const { signal: _signal, ...rest } = r;
    return rest;
  };
  return {
    name: 'duckdb-via-primary',
    queryPieces: (r) => call('queryPieces', withoutSignal(r)),
    listResources: (scope) => call('listResources', scope),
    usage: (r) => call('usage', withoutSignal(r)),
    readWatermarks: () => call('readWatermarks'),
    rawDataRange: () => call('rawDataRange'),
    buildRollup: (rollup, interval) => call('buildRollup', rollup, interval),
    ping: () => call('ping'),
    close: async () => undefined,
  };
}
