import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { post, startReplica, type Replica } from './helpers/edge-server.ts';
import { seededStore } from './helpers/fixture.ts';

/**
 * The real OpenTelemetry JS SDK pushes to POST /v1/metrics with its protobuf
 * and JSON exporters, and the numbers come back through GraphQL timeseries.
 */
const M = 'io.confluent.kafka.server/';
const STARTED = Math.floor(Date.now() / 60_000) * 60_000;
let store: DuckDbStore;
let replica: Replica;
let cluster: string;

before(async () => {
  store = await seededStore();
  // The SDK stamps points with the real clock: the server's is the real one too (fixed at the start, for `now`-relative limits).
  replica = await startReplica(store, { STRATA_NOW: new Date(STARTED + 60_000).toISOString() });
  cluster = (await store.listResources({ kind: 'tenant', tenantId: 't-1' }))[0]?.resourceId ?? '';
});
after(async () => {
  await replica.stop();
  await store.close();
});

function meterProvider(exporter: PushMetricExporter): MeterProvider {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  return new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'strata-test', 'kafka.cluster.id': cluster }),
    readers: [reader],
  });
}

/** The metric's total per topic over the minutes around the test, as GraphQL answers it. */
async function totals(metric: string, aggregation = 'SUM'): Promise<Record<string, number>> {
  const interval = `${new Date(STARTED - 60_000).toISOString()}/${new Date(STARTED + 10 * 60_000).toISOString()}`;
  const query = `{ timeseries(query: { metric: "${M}${metric}", aggregation: ${aggregation}, granularity: ALL, interval: "${interval}",
    filter: { field: "resource_id", op: EQ, value: "${cluster}" }, groupBy: ["topic"] }) { series { labels { key value } points { value } } } }`;
  const answer = await post(`${replica.base}/graphql`, replica.token('customer', 't-1'), JSON.stringify({ query }));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const data = answer.body.data as { timeseries: { series: { labels: { key: string; value: string }[]; points: { value: number }[] }[] } };
  return Object.fromEntries(
    data.timeseries.series.map((s) => [s.labels.find((l) => l.key === 'topic')?.value ?? '', s.points[0]?.value ?? 0]),
  );
}

test('the protobuf exporter, cumulative: counters arrive as exact deltas and gauges as levels', async () => {
  const url = `${replica.base}/v1/metrics`;
  const exporter = new ProtobufExporter({ url, headers: { authorization: `Bearer ${replica.token('collector')}` } });
  const provider = meterProvider(exporter);
  const meter = provider.getMeter('strata-test');
  const bytes = meter.createCounter(`${M}received_bytes`);
  const partitions = meter.createGauge(`${M}retained_bytes`);
  bytes.add(100, { topic: 'sdk-a' });
  await provider.forceFlush();
  bytes.add(50, { topic: 'sdk-a', client: 'dropped: not a label of the metric' });
  bytes.add(7, { topic: 'sdk-b' });
  partitions.record(4096, { topic: 'sdk-a', partition: '0' });
  await provider.forceFlush();
  await provider.forceFlush(); // the same cumulative totals again: nothing new
  await provider.shutdown();
  assert.deepEqual(await totals('received_bytes'), { 'sdk-a': 150, 'sdk-b': 7 });
  assert.deepEqual(await totals('retained_bytes', 'MAX'), { 'sdk-a': 4096 });
});

test('the JSON exporter, delta temporality, with a customer token for its own cluster', async () => {
  const exporter = new JsonExporter({
    url: `${replica.base}/v1/metrics`,
    headers: { authorization: `Bearer ${replica.token('customer', 't-1')}` },
    temporalityPreference: AggregationTemporalityPreference.DELTA,
  });
  const provider = meterProvider(exporter);
  const sent = provider.getMeter('strata-test').createCounter(`${M}sent_bytes`);
  sent.add(30, { topic: 'sdk-a' });
  await provider.forceFlush();
  sent.add(12, { topic: 'sdk-a' });
  await provider.forceFlush();
  await provider.shutdown();
  assert.deepEqual(await totals('sent_bytes'), { 'sdk-a': 42 });
});
