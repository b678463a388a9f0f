import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { context, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { RequestContext } from '../api/context.ts';
import { requestDuration } from './metrics.ts';
import { requestSpans, tracer } from './tracing.ts';

/** Incubating semantic-convention names, kept here (the incubating entry point may change). */
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';

/**
 * Operation names are chosen by clients: a label from them must be bounded.
 * The first MAX_NAMES distinct names are kept, later ones count as "other".
 */
const MAX_NAMES = 100;
const names = new Set<string>();

export function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  if (names.has(name)) return name;
  if (names.size >= MAX_NAMES || name.length > 64) return 'other';
  names.add(name);
  return name;
}

/**
 * Per operation: the latency histogram by operation name and role, and the
 * GraphQL span under the HTTP span, parked where the pipeline's spans find it.
 */
export const observabilityPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ contextValue }): Promise<GraphQLRequestListener<RequestContext>> {
    const started = performance.now();
    const spans = requestSpans();
    const span = spans ? tracer.startSpan('graphql', {}, context.active()) : undefined;
    if (spans && span) spans.graphql = span;
    return {
      async didResolveOperation({ operationName, operation }) {
        if (!span || !operation) return;
        span.updateName(operationName ? `${operation.operation} ${operationName}` : operation.operation);
        span.setAttribute(ATTR_GRAPHQL_OPERATION_TYPE, operation.operation);
        if (operationName) span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, operationName);
      },
      async didEncounterErrors({ errors }) {
        if (!span) return;
        // Codes of our errors are on the original error; formatError copies them to extensions later.
        const first = errors[0];
        const code = (first?.originalError as { code?: unknown } | undefined)?.code ?? first?.extensions['code'];
        span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : 'GRAPHQL_ERROR');
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${errors.length} error(s)` });
      },
      async willSendResponse({ operationName }) {
        requestDuration.labels(operationLabel(operationName), contextValue.principal.role).observe((performance.now() - started) / 1000);
        span?.end();
      },
    };
  },
};
