import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { DestinationStream } from 'pino';
import { createApp } from '../../api/app.ts';
import { createHttpServer } from '../../api/http-server.ts';
import { createLogger } from '../../observability/logger.ts';
import { loadConfig } from '../../config/config.ts';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import { installTracing, tracer } from '../../observability/tracing.ts';
import { END, seededStore } from '../helpers/fixture.ts';

const exporter = new InMemorySpanExporter();
await installTracing({ exporter });

/** A pino destination that keeps the parsed lines. */
function capture(): { destination: DestinationStream; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

test('a log line carries trace_id and span_id of the active span, and none outside a span', () => {
  const { destination, lines } = capture();
  const log = createLogger('info', destination);
  log.info('outside');
  tracer.startActiveSpan('work', (span) => {
    log.warn('inside', { detail: 1 });
    log.write({ level: 'error', msg: 'written', code: 'X' });
    span.end();
  });
  log.info('after');
  const [outside, inside, written, afterwards] = lines;
  assert.equal(outside?.['trace_id'], undefined);
  assert.equal(afterwards?.['trace_id'], undefined);
  assert.equal(afterwards?.['msg'], 'after');
  const span = exporter.getFinishedSpans().find((s) => s.name === 'work');
  assert.ok(span);
  for (const line of [inside, written]) {
    assert.equal(line?.['trace_id'], span.spanContext().traceId);
    assert.equal(line?.['span_id'], span.spanContext().spanId);
    assert.equal(line?.['trace_flags'], '01');
    assert.equal(line?.['service'], 'strata');
  }
  assert.equal(inside?.['detail'], 1);
  assert.equal(written?.['code'], 'X');
  assert.equal(written?.['level'], 50);
});

test('a non-recording (unsampled) remote context still puts its ids on log lines', () => {
  const { destination, lines } = capture();
  const log = createLogger('info', destination);
  const remote = trace.wrapSpanContext({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 0,
    isRemote: true,
  });
  context.with(trace.setSpan(context.active(), remote), () => log.info('remote'));
  assert.equal(lines[0]?.['trace_id'], '0af7651916cd43dd8448eb211c80319c');
  assert.equal(lines[0]?.['trace_flags'], '00');
});

test("the service's own log lines join the trace: a refused token during a request, an event in the consumer span", async () => {
  const store = await seededStore();
  const { destination, lines } = capture();
  const config = loadConfig({}, { STRATA_ENV: 'test', STRATA_NOW: new Date(END).toISOString(), STRATA_LOG_LEVEL: 'debug' });
  const app = await createApp(config, { store, logDestination: destination });
  const server = createHttpServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  try {
    exporter.reset();
    const port = typeof address === 'object' && address ? address.port : 0;
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' },
      body: '{"query":"{ metrics { name } }"}',
    });
    assert.equal(response.status, 401);
    const refused = lines.find((l) => l['msg'] === 'authentication failed');
    const http = exporter.getFinishedSpans().find((s) => s.name === 'POST /graphql');
    assert.ok(refused && http);
    assert.equal(refused['trace_id'], http.spanContext().traceId);
    assert.equal(refused['span_id'], http.spanContext().spanId);
    assert.equal(http.attributes['http.response.status_code'], 401);

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const event = newAggregationEvent(
      'rollup_1h',
      { start: Date.parse('2026-11-19T20:00:00Z'), end: Date.parse('2026-11-19T21:00:00Z') },
      ['t-1'],
      ['io.confluent.kafka.server/received_bytes'],
      Date.now(),
    );
    await app.bus.publish(event, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const applied = lines.find((l) => l['msg'] === 'aggregation event applied');
    assert.equal(applied?.['trace_id'], traceId);
    const consumer = exporter.getFinishedSpans().find((s) => s.name === 'process aggregation.published');
    assert.equal(applied?.['span_id'], consumer?.spanContext().spanId);
  } finally {
    server.closeAllConnections();
    server.close();
    await app.close();
    await store.close();
  }
});
