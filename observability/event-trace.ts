import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Link, type Span } from '@opentelemetry/api';
import { newTraceparent } from './trace-context.ts';
import { EVENT_COUNTERS } from './metrics.ts';
import { failSpan, isTracing, tracer } from './tracing.ts';

/** Incubating messaging semantic-convention names, kept here (the incubating entry point may change). */
const ATTR_MESSAGING_SYSTEM = 'messaging.system';
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';

const headerGetter = {
  keys: (carrier: Readonly<Record<string, string>>) => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, string>>, key: string) => carrier[key],
};

/**
 * Runs the handling of one aggregation event in a CONSUMER span that is both
 * a child of the producer's context (the W3C `traceparent` header) and linked
 * to it, as the messaging conventions advise: trace views show the
 * invalidation under the publish, and link-based tools still find it.
 * A malformed header is ignored by the W3C propagator (a new trace starts).
 */
export async function traceConsumer<T>(
  headers: Readonly<Record<string, string>>,
  handle: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!isTracing()) return handle(undefined);
  const producer = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  const producerSpan = trace.getSpanContext(producer);
  const links: Link[] = producerSpan ? [{ context: producerSpan }] : [];
  const span = tracer.startSpan(
    'process aggregation.published',
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: { [ATTR_MESSAGING_OPERATION_TYPE]: 'process', [ATTR_MESSAGING_OPERATION_NAME]: 'process' },
    },
    producer,
  );
  try {
    return await context.with(trace.setSpan(producer, span), () => handle(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A PRODUCER span for one Kafka send. The caller's `traceparent` (the
 * aggregator's context) is its parent, and the header sent is replaced by the
 * producer span's own context, so consumers link to the publish itself.
 */
export async function traceProducer(
  topic: string,
  headers: Record<string, string>,
  send: (headers: Record<string, string>) => Promise<void>,
): Promise<void> {
  if (!isTracing()) return send(headers);
  const parent = headers['traceparent'] ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : context.active();
  const span = tracer.startSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { [ATTR_MESSAGING_SYSTEM]: 'kafka', [ATTR_MESSAGING_OPERATION_TYPE]: 'send', [ATTR_MESSAGING_DESTINATION_NAME]: topic },
    },
    parent,
  );
  const carried = { ...headers };
  propagation.inject(trace.setSpan(parent, span), carried);
  try {
    await send(carried);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Counts an event outcome where the listener counts its stats, and tells the
 * consumer span (a duplicate is also applied: it is flagged, not replaced).
 */
export function observeEvent(span: Span | undefined, outcome: keyof typeof EVENT_COUNTERS, eventId?: string, datasource?: string): void {
  EVENT_COUNTERS[outcome].inc();
  if (!span) return;
  if (outcome === 'duplicate') return void span.setAttribute('strata.event.duplicate', true);
  span.setAttribute('strata.event.outcome', outcome);
  if (eventId) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, eventId);
  if (datasource) span.setAttribute('strata.datasource', datasource);
}

/**
 * The aggregator's work for one event (the rollup rebuild and the publish) as
 * a span of its own, whose context travels in the event's `traceparent`: the
 * consumers' spans then hang under the aggregation that caused them. Without
 * tracing, the header still starts a fresh trace id for the logs to share.
 */
export async function traceAggregation<T>(rollup: string, work: (traceparent: string) => Promise<T>): Promise<T> {
  if (!isTracing()) return work(newTraceparent());
  const span = tracer.startSpan(`aggregate ${rollup}`, { kind: SpanKind.INTERNAL, attributes: { 'strata.rollup': rollup } });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  try {
    return await work(carrier['traceparent'] ?? newTraceparent());
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
