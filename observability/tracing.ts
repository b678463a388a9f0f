import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';

export interface TracingOptions {
  /** OTLP/HTTP collector base URL (…:4318) or full traces URL (…/v1/traces). */
  readonly otlpEndpoint?: string | undefined;
  /** Fraction of new traces recorded (a sampled parent is always followed). */
  readonly sampleRatio?: number;
  readonly serviceInstanceId?: string;
  /** Tests: an in-memory exporter, fed synchronously as each span ends. */
  readonly exporter?: SpanExporter;
}

/**
 * Tracing is process-wide (the OpenTelemetry API has one global provider), and
 * off unless an OTLP endpoint (or a test exporter) is given: then no provider
 * is registered and every helper below returns before allocating anything.
 */
let provider: NodeTracerProvider | undefined;
let installing: Promise<void> | undefined;
export const tracer = trace.getTracer('strata');

export async function installTracing(options: TracingOptions): Promise<void> {
  if (!options.otlpEndpoint && !options.exporter) return;
  installing ??= registerProvider(options);
  await installing;
}

/** The SDK is loaded only when tracing is on: it costs about 3.5 MB resident that a process without an endpoint never uses. */
async function registerProvider(options: TracingOptions): Promise<void> {
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, base, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const processor = options.exporter
    ? new base.SimpleSpanProcessor(options.exporter)
    : new base.BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint ?? '') }));
  const tracing = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'strata',
      ...(options.serviceInstanceId ? { 'service.instance.id': options.serviceInstanceId } : {}),
    }),
    sampler: new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  tracing.register();
  provider = tracing;
}

export const isTracing = (): boolean => provider !== undefined;

/** Sends what is buffered (at app close, so the last spans of a process are not lost). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

const tracesUrl = (endpoint: string): string =>
  /\/v1\/traces\/?$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/+$/, '')}/v1/traces`;

/**
 * Spans of one request that later spans hang under. Apollo runs its plugins in
 * the request's async context but cannot run execution inside a span of ours,
 * so the GraphQL span is parked here and the pipeline spans find it.
 */
interface RequestSpans {
  graphql: Span | undefined;
}
const REQUEST_SPANS = createContextKey('strata.request-spans');

export function requestSpans(): RequestSpans | undefined {
  return context.active().getValue(REQUEST_SPANS) as RequestSpans | undefined;
}

const headerGetter = {
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key],
};

/** The server span of a GraphQL HTTP request; a caller's traceparent is honoured (sampling, trace id). */
export async function traceHttpRequest(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
  if (!provider) return handle();
  const parent = propagation.extract(ROOT_CONTEXT, req.headers, headerGetter);
  const method = req.method ?? 'POST';
  const span = tracer.startSpan(
    `${method} /graphql`,
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_HTTP_ROUTE]: '/graphql', [ATTR_URL_PATH]: '/graphql' },
    },
    parent,
  );
  const active = trace.setSpan(parent, span);
  if (!span.isRecording()) return context.with(active, handle);
  const spans: RequestSpans = { graphql: undefined };
  try {
    await context.with(active.setValue(REQUEST_SPANS, spans), handle);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}

/**
 * A span under the request's GraphQL span (or the active span), or undefined
 * when nothing is being recorded: unsampled requests cost no span at all.
 */
export function startChildSpan(name: string, attributes?: Attributes): Span | undefined {
  if (!provider) return undefined;
  const active = context.active();
  const parent = requestSpans()?.graphql ?? trace.getSpan(active);
  if (!parent?.isRecording()) return undefined;
  return tracer.startSpan(name, attributes ? { attributes } : {}, trace.setSpan(active, parent));
}

export function failSpan(span: Span, error: unknown): void {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') span.setAttribute('error.type', code);
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
