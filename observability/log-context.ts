import { isSpanContextValid, trace } from '@opentelemetry/api';

/** Returned when no span is active: shared, never written to (see mergeTraceFields). */
const NO_TRACE: Record<string, string> = {};

/**
 * pino `mixin`: the active span's ids on every log line, so a log line leads
 * to its trace. Without tracing there is no active span and nothing is added.
 */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return NO_TRACE;
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return NO_TRACE;
  return { trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: ctx.traceFlags & 1 ? '01' : '00' };
}

/** pino `mixinMergeStrategy`: pino's default writes into the mixin's object, which must stay empty when shared. */
export function mergeTraceFields(fields: object, mixin: object): object {
  return mixin === NO_TRACE ? fields : Object.assign(mixin, fields);
}
