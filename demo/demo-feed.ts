import type { Attributes, ObservableResult } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

/** Where the feed pushes, as whom, for which clusters, how often. */
export interface DemoFeedOptions {
  /** The server's base URL, e.g. http://127.0.0.1:4000. */
  readonly url: string;
  /** A collector token, asked for at each push (tokens expire; the feed outlives one). */
  readonly token: () => string;
  readonly clusters: readonly string[];
  readonly everyMs: number;
}

const M = 'io.confluent.kafka.server/';
const TOPICS = ['orders', 'payments', 'clicks', 'inventory'];
const REQUEST_TYPES = ['Produce', 'Fetch', 'Metadata', 'OffsetCommit'];
const GROUPS = ['billing-service', 'search-indexer'];

/**
 * A synthetic telemetry feed for the demo: one OpenTelemetry MeterProvider
 * per cluster (the cluster is a resource attribute, `kafka.cluster.id`),
 * pushing through the server's own OTLP/HTTP receiver with the protobuf
 * exporter, as a user's SDK would. Counters are cumulative since the feed
 * started (a restart is a new start time, which the receiver reads as a
 * reset, as it should), their rates following the time of day; gauges wander.
 */
export function startDemoFeed(options: DemoFeedOptions): { stop(): Promise<void> } {
  const started = Date.now();
  const providers = options.clusters.map((cluster, c) => {
    const exporter = new OTLPMetricExporter({
      url: `${options.url}/v1/metrics`,
      headers: async () => ({ Authorization: `Bearer ${options.token()}` }),
    });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'kafka.cluster.id': cluster, 'service.name': 'strata-demo-feed' }),
      readers: [
        new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: options.everyMs, exportTimeoutMillis: options.everyMs }),
      ],
    });
    instrument(provider, c, () => (Date.now() - started) / 1000);
    return provider;
  });
  return { stop: async () => void (await Promise.allSettled(providers.map((p) => p.shutdown()))) };
}

/** A rate that follows the time of day, per series (`seed` tells series apart). */
const rate = (seed: number, base: number): number =>
  base * (1 + (seed % 7) / 7) * (1.2 + Math.sin((Date.now() / 86_400_000) * 2 * Math.PI));

function instrument(provider: MeterProvider, c: number, seconds: () => number): void {
  const meter = provider.getMeter('strata-demo-feed');
  // Totals only grow: each collection adds the time since the last at the series' current rate.
  const counter = (name: string, base: number, series: readonly Attributes[]): void => {
    const totals = series.map(() => 0);
    let last = seconds();
    meter.createObservableCounter(M + name).addCallback((result: ObservableResult) => {
      const now = seconds();
      for (const [i, attributes] of series.entries()) {
        totals[i] = (totals[i] ?? 0) + rate(c * 31 + i, base) * (now - last);
        result.observe(Math.floor(totals[i] ?? 0), attributes);
      }
      last = now;
    });
  };
  const gauge = (name: string, series: readonly Attributes[], value: (i: number) => number): void => {
    meter.createObservableGauge(M + name).addCallback((result: ObservableResult) => {
      for (const [i, attributes] of series.entries()) result.observe(Math.floor(value(i)), attributes);
    });
  };
  const topics = TOPICS.map((topic) => ({ topic }));
  counter('received_bytes', 4000, topics);
  counter('sent_bytes', 6000, topics);
  counter('received_records', 40, topics);
  counter('sent_records', 60, topics);
  counter(
    'request_count',
    5,
    REQUEST_TYPES.map((request_type) => ({ request_type })),
  );
  const partitions = TOPICS.flatMap((topic) => [0, 1, 2].map((p) => ({ topic, partition: String(p) })));
  gauge('retained_bytes', partitions, (i) => 5_000_000 + i * 100_000 + seconds() * 50);
  gauge('partition_count', [{}], () => partitions.length);
  gauge('active_connection_count', [{}], () => 20 + 10 * Math.sin(seconds() / 300 + c));
  const lag = GROUPS.flatMap((consumer_group_id) => TOPICS.slice(0, 2).map((topic) => ({ consumer_group_id, topic })));
  gauge('consumer_lag_offsets', lag, (i) => 500 + 400 * Math.sin(seconds() / 120 + i));
}
