import type { Serializable } from 'node:child_process';
import cluster from 'node:cluster';
import type { Config } from '../config/config.ts';
import type { EventBus } from '../events/event-bus.ts';
import { forwardedBus, forwardingBus } from '../events/ipc-bus.ts';
import { ReferenceAggregator } from '../aggregator/reference-aggregator.ts';
import { aggregateOnSchedule } from '../aggregator/aggregation-schedule.ts';
import { startupProblem } from './startup-problem.ts';
import type { MetricStore } from '../store/metric-store.ts';
import { ipcStore, serveStore, type IpcChannel } from '../store/ipc/ipc-store.ts';
import { busFromConfig } from './compose.ts';

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

type Worker = ReturnType<typeof cluster.fork>;

/** The primary's end of one worker's IPC channel (a worker that has gone is skipped). */
const workerChannel = (w: Worker): IpcChannel => ({
  send: (m) => {
    if (w.isConnected()) w.send(m as Serializable);
  },
  onMessage: (handler) => void w.on('message', handler),
});

/** A worker's end of its IPC channel to the primary. */
const primaryChannel: IpcChannel = {
  send: (m) => void process.send?.(m),
  onMessage: (handler) => void process.on('message', handler),
};

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
  const channels = workers.map(workerChannel);
  for (const channel of channels) serveStore(store, channel);
  const ports = await Promise.all(
    workers.map((w) => new Promise<number>((resolve) => w.once('listening', (address) => resolve(address.port)))),
  );
  const bus: EventBus = config.events.kind === 'kafka' ? await busFromConfig(config) : forwardingBus(channels);
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

/** A worker's bus in the embedded mode: events the primary forwards, delivered in order. */
export const workerBus = (): EventBus => forwardedBus(primaryChannel);

/** The store as a worker sees it in the embedded mode: every call answered by the primary. */
export const workerStore = (): MetricStore => ipcStore(primaryChannel);
