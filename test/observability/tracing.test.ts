import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import { installTracing, isTracing } from '../../observability/tracing.ts';
import type { Replica } from '../helpers/edge-server.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { observedReplica, panelDocument, query } from './observed-replica.ts';

// Before any app: tracing is process-wide, and the first installation wins.
const exporter = new InMemorySpanExporter();
await installTracing({ exporter });

let replica: Replica;
let store: DuckDbStore;
let cluster: string;

before(async () => {
  ({ replica, store, cluster } = await observedReplica());
});

after(async () => {
  await replica.stop();
  await store.close();
});

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

function one(spans: readonly ReadableSpan[], match: (s: ReadableSpan) => boolean, what: string): ReadableSpan {
  const found = spans.filter(match);
  assert.equal(found.length, 1, `expected one ${what}, got ${found.map((s) => s.name).join(', ') || 'none'}`);
  return found[0]!;
}

test('a GraphQL request is one trace: HTTP server span, GraphQL span, then planner, cache lookup and store query spans', async () => {
  assert.equal(isTracing(), true);
  exporter.reset();
  await query(replica, replica.token('customer', 't-1'), panelDocument(cluster));
  const spans = exporter.getFinishedSpans();
  const http = one(spans, (s) => s.kind === SpanKind.SERVER, 'server span');
  assert.equal(http.name, 'POST /graphql');
  assert.equal(http.attributes['http.response.status_code'], 200);
  assert.equal(http.attributes['http.route'], '/graphql');
  const graphql = one(spans, (s) => s.name === 'query Panel', 'GraphQL span');
  assert.equal(parentOf(graphql), idOf(http));
  assert.equal(graphql.attributes['graphql.operation.name'], 'Panel');
  assert.equal(graphql.attributes['graphql.operation.type'], 'query');
  const planner = one(spans, (s) => s.name === 'strata.plan', 'planner span');
  const lookup = one(spans, (s) => s.name === 'strata.cache.lookup', 'cache lookup span');
  const storeQuery = one(spans, (s) => s.name === 'strata.store.query', 'store query span');
  for (const child of [planner, lookup, storeQuery]) {
    assert.equal(parentOf(child), idOf(graphql), `${child.name} hangs under the GraphQL span`);
    assert.equal(child.spanContext().traceId, http.spanContext().traceId);
  }
  // The routing decision per fragment: sources, intervals and reasons, in order.
  const sources = planner.attributes['strata.plan.fragment.source'] as string[];
  assert.deepEqual(sources, ['rollup_1h', 'raw']);
  assert.equal((planner.attributes['strata.plan.fragment.reason'] as string[]).length, 2);
  assert.equal((planner.attributes['strata.plan.fragment.interval'] as string[]).length, 2);
  assert.ok((planner.attributes['strata.plan.rules.failed'] as string[]).some((r) => r.startsWith('rollup_1d:')));
  const pieces = lookup.attributes['strata.pieces'] as number;
  assert.ok(pieces > 0);
  assert.equal(lookup.attributes['strata.cache.hits'], 0);
  assert.equal(lookup.attributes['strata.cache.misses'], pieces);
  assert.equal(storeQuery.attributes['strata.store'], 'duckdb');
  assert.equal(storeQuery.attributes['db.system.name'], 'duckdb');
  assert.equal(storeQuery.attributes['strata.lane'], 'customer');
});

test('a repeated request shows cache hits and no store query span', async () => {
  exporter.reset();
  await query(replica, replica.token('customer', 't-1'), panelDocument(cluster));
  const spans = exporter.getFinishedSpans();
  const lookup = one(spans, (s) => s.name === 'strata.cache.lookup', 'cache lookup span');
  assert.equal(lookup.attributes['strata.cache.hits'], lookup.attributes['strata.pieces']);
  assert.equal(lookup.attributes['strata.cache.misses'], 0);
  assert.equal(spans.filter((s) => s.name === 'strata.store.query').length, 0);
});

test("the caller's traceparent is honoured: the server span joins its trace", async () => {
  exporter.reset();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  await query(replica, replica.token('internal'), panelDocument(cluster, 'Traced'), { traceparent: `00-${traceId}-${callerSpan}-01` });
  const spans = exporter.getFinishedSpans();
  const http = one(spans, (s) => s.kind === SpanKind.SERVER, 'server span');
  assert.equal(http.spanContext().traceId, traceId);
  assert.equal(parentOf(http), callerSpan);
  assert.ok(spans.every((s) => s.spanContext().traceId === traceId));
  assert.equal(one(spans, (s) => s.name === 'strata.store.query', 'store query span').attributes['strata.lane'], 'internal');
});

test('a failing operation marks the GraphQL span with its error code', async () => {
  exporter.reset();
  const document = `query Foreign { timeseries(query: { metric: "io.confluent.kafka.server/received_bytes", granularity: PT1H, interval: "now-6h/now",
    filter: { field: "resource_id", op: EQ, value: "lkc-nope0" } }) { series { points { value } } } }`;
  await fetch(`${replica.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${replica.token('customer', 't-1')}` },
    body: JSON.stringify({ query: document }),
  });
  const graphql = one(exporter.getFinishedSpans(), (s) => s.name === 'query Foreign', 'GraphQL span');
  assert.equal(graphql.attributes['error.type'], 'RESOURCE_NOT_FOUND');
  assert.equal(graphql.status.code, 2); // SpanStatusCode.ERROR
});

test("the listener's handling of an aggregation event is a consumer span, child of and linked to the producer's traceparent", async () => {
  exporter.reset();
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const producerSpan = 'b7ad6b7169203331';
  const event = newAggregationEvent(
    'rollup_1h',
    { start: Date.parse('2026-11-19T20:00:00Z'), end: Date.parse('2026-11-19T21:00:00Z') },
    ['t-1'],
    ['io.confluent.kafka.server/received_bytes'],
    Date.now(),
  );
  await replica.app.bus.publish(event, { traceparent: `00-${traceId}-${producerSpan}-01` });
  const consumer = one(exporter.getFinishedSpans(), (s) => s.kind === SpanKind.CONSUMER, 'consumer span');
  assert.equal(consumer.name, 'process aggregation.published');
  assert.equal(consumer.links.length, 1);
  assert.equal(consumer.links[0]?.context.traceId, traceId);
  assert.equal(consumer.links[0]?.context.spanId, producerSpan);
  assert.equal(consumer.spanContext().traceId, traceId);
  assert.equal(parentOf(consumer), producerSpan);
  assert.equal(consumer.attributes['messaging.message.id'], event.eventId);
  assert.equal(consumer.attributes['strata.datasource'], 'rollup_1h');
  assert.equal(consumer.attributes['strata.event.outcome'], 'applied');
  // The same event again: applied again, and flagged as a duplicate.
  exporter.reset();
  await replica.app.bus.publish(event, { traceparent: `00-${traceId}-${producerSpan}-01` });
  assert.equal(
    one(exporter.getFinishedSpans(), (s) => s.kind === SpanKind.CONSUMER, 'consumer span').attributes['strata.event.duplicate'],
    true,
  );
});

test('the reference aggregator publishes a trace context that the consumer span links to', async () => {
  exporter.reset();
  const published: string[] = [];
  const bus = replica.app.bus;
  const original = bus.publish.bind(bus);
  // Observe the header the aggregator sends (the bus itself is the real in-process bus).
  const spy = (event: Parameters<typeof bus.publish>[0], headers?: Record<string, string>): Promise<void> => {
    if (headers?.['traceparent']) published.push(headers['traceparent']);
    return original(event, headers);
  };
  Object.assign(bus, { publish: spy });
  try {
    await replica.app.aggregator.publish('rollup_1h', {
      start: Date.parse('2026-11-19T19:00:00Z'),
      end: Date.parse('2026-11-19T20:00:00Z'),
    });
  } finally {
    Object.assign(bus, { publish: original });
  }
  assert.equal(published.length, 1);
  const [, traceId, spanId] = published[0]!.split('-');
  const consumer = one(exporter.getFinishedSpans(), (s) => s.kind === SpanKind.CONSUMER, 'consumer span');
  assert.equal(consumer.links[0]?.context.traceId, traceId);
  assert.equal(consumer.links[0]?.context.spanId, spanId);
  const aggregation = one(exporter.getFinishedSpans(), (s) => s.name === 'aggregate rollup_1h', 'aggregator span');
  assert.equal(aggregation.spanContext().spanId, spanId, 'the header carries the aggregation span itself');
  assert.equal(consumer.parentSpanContext?.spanId, spanId, 'the consumer span hangs under it');
});

test('a malformed traceparent starts a new trace with no link, and a rejected message is marked', async () => {
  exporter.reset();
  await replica.app.bus.publishRaw(Buffer.from('{"not":"an event"}'), { traceparent: '00-zz-not-a-trace-01' });
  const consumer = one(exporter.getFinishedSpans(), (s) => s.kind === SpanKind.CONSUMER, 'consumer span');
  assert.equal(consumer.links.length, 0);
  assert.equal(consumer.parentSpanContext, undefined);
  assert.equal(consumer.attributes['strata.event.outcome'], 'rejected');
});
