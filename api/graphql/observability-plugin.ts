import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { context, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { RequestContext } from '../../resolvers/context.ts';
import { requestDuration } from '../../observability/metrics.ts';
import { requestSpans, tracer } from '../../observability/tracing.ts';

/** Incubating semantic-convention names, kept here (the incubating entry point may change). */
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';

/**
 * Operation names are chosen by clients, and /metrics needs no token: a
 * label from them would publish tenant-chosen text to whoever scrapes, and
 * let one tenant fill the label space. Only the operator's allow-list
 * (STRATA_METRICS_OPERATIONS, e.g. the internal dashboards' operations) is
 * kept; every other name counts as "other".
 */
export function operationLabeller(allowed: readonly string[]): (name: string | null | undefined) => string {
  const names = new Set(allowed);
  return (name) => (!name ? 'anonymous' : names.has(name) ? name : 'other');
}

/**
 * Per operation: the latency histogram by operation name and role, and the
 * GraphQL span under the HTTP span, parked where the pipeline's spans find it.
 */
export function observabilityPlugin(operationNames: readonly string[]): ApolloServerPlugin<RequestContext> {
  const operationLabel = operationLabeller(operationNames);
  return { requestDidStart: ({ contextValue }) => observeRequest(contextValue, operationLabel) };
}

async function observeRequest(
  contextValue: RequestContext,
  operationLabel: (name: string | null | undefined) => string,
): Promise<GraphQLRequestListener<RequestContext>> {
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
}
