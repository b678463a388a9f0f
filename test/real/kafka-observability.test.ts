import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { App } from '../../api/app.ts';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import { KafkaBus } from '../../events/kafka-bus.ts';
import { consumerLag } from '../../observability/metrics.ts';
import { installTracing } from '../../observability/tracing.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seededStore, testApp } from '../helpers/fixture.ts';
import { serviceEnv } from '../helpers/services.ts';

// On a real Kafka broker (npm test starts one): trace context through message headers, and consumer lag from kafkajs' offsets.
const exporter = new InMemorySpanExporter();
await installTracing({ exporter });

const brokers = serviceEnv('KAFKA_BROKERS');
const run = `${process.pid}-${Date.now()}`;
let store: DuckDbStore;
let app: App;

before(async () => {
  store = await seededStore();
  app = await testApp(store, {
    STRATA_EVENTS: 'kafka',
    KAFKA_BROKERS: brokers,
    STRATA_KAFKA_TOPIC: `strata.obs.${run}`,
    STRATA_REPLICA_ID: `obs-${run}`,
  });
});

after(async () => {
  await app.close();
  await store.close();
});

async function until(what: string, done: () => boolean | Promise<boolean>, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`gave up waiting for ${what}`);
}

test('through Kafka: the publish is a producer span, and the consumer span is its child and links to it', async () => {
  exporter.reset();
  const applied = app.listener.stats.applied;
  await app.aggregator.publish('rollup_1h', { start: Date.parse('2026-11-19T19:00:00Z'), end: Date.parse('2026-11-19T20:00:00Z') });
  await until('the event to be applied', () => app.listener.stats.applied > applied);
  await until('the consumer span to end', () => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER));
  const spans = exporter.getFinishedSpans();
  const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
  const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER);
  assert.ok(producer && consumer);
  assert.equal(producer.name, `send strata.obs.${run}`);
  assert.equal(producer.attributes['messaging.system'], 'kafka');
  // The producer span continues the aggregator's trace (its traceparent is the parent).
  assert.equal(producer.parentSpanContext?.isRemote, true);
  assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
  assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
  assert.equal(consumer.links[0]?.context.spanId, producer.spanContext().spanId);
  assert.equal(consumer.attributes['strata.event.outcome'], 'applied');
});

async function lagOf(topic: string): Promise<number | undefined> {
  const metric = await consumerLag.get();
  return metric.values.find((v) => v.labels['topic'] === topic && v.labels['partition'] === '0')?.value;
}

test('consumer lag: up while the handler is held, back to 0 once every event is committed', async () => {
  const topic = `strata.obs.lag.${run}`;
  const publisher = new KafkaBus({ brokers: brokers.split(','), topic, groupId: `obs-lag-pub-${run}` });
  const subscriber = new KafkaBus({ brokers: brokers.split(','), topic, groupId: `obs-lag-sub-${run}` });
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let handled = 0;
  try {
    await subscriber.subscribe(async () => {
      await held;
      handled += 1;
    });
    const interval = { start: Date.parse('2026-11-19T18:00:00Z'), end: Date.parse('2026-11-19T19:00:00Z') };
    for (let i = 0; i < 3; i++)
      await publisher.publish(
        newAggregationEvent('rollup_1h', interval, ['t-1'], ['io.confluent.kafka.server/received_bytes'], Date.now()),
      );
    await until('a lag to be reported', async () => ((await lagOf(topic)) ?? 0) >= 1);
    assert.equal(handled, 0);
    release();
    await until('all three events handled', () => handled === 3);
    await until('the lag to return to 0', async () => (await lagOf(topic)) === 0);
  } finally {
    release();
    await subscriber.close();
    await publisher.close();
  }
});
