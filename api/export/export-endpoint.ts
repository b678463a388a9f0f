import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config, JwtConfig } from '../../config/config.ts';
import type { Logger } from '../../observability/logger.ts';
import { requestContext, timeseriesContext, type RequestContext, type Services } from '../../resolvers/context.ts';
import { admitCaller, armDeadline, refuseAdmission, sendError, sendJson, type CallerAdmission } from '../http/admission.ts';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';
import { asReader } from '../../auth/principal.ts';
import { exportFamilies, exportWindow, parseExportRequest, statusFamilies, visibleClusters, type ExportRequest } from './export-query.ts';
import type { InFlightGate } from '../http/in-flight-gate.ts';
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from './openmetrics.ts';

/** The parts of the HTTP edge an export shares with /graphql: the same gate, quotas and shares. */
export interface ExportEdge extends CallerAdmission {
  /** What an export reads of the app (an App is one). */
  readonly app: {
    readonly config: Pick<Config, 'limits' | 'metricsExport'> & { readonly jwt: JwtConfig };
    readonly services: Services;
    readonly log: Logger;
  };
  readonly gate: InFlightGate;
}

/**
 * `GET /export?resource.kafka.id=…[&metric=…]`: the last closed minute of each
 * metric of the named clusters, as OpenMetrics text for Prometheus to scrape.
 * It passes the same admission chain as /graphql, in the same order:
 *   method → draining? → authenticate → rate limit → caller's share →
 *   parameters → process slot (in-flight cap) → export (deadline, cancel on disconnect).
 * A scrape is one request against the caller's quotas, whatever it names.
 */
export async function serveExport(edge: ExportEdge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendJson(res, 405, { errors: [{ message: 'Use GET on /export.', extensions: { code: ErrorCode.BAD_REQUEST } }] });
  }
  if (edge.gate.isDraining) return refuseAdmission(res, 'draining');
  try {
    await exportRequest(edge, req, res);
  } catch (error) {
    sendError(res, error, { statuses: EXPORT_STATUS });
  }
}

async function exportRequest(edge: ExportEdge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { app } = edge;
  const principal = asReader((await admitCaller(edge, req, res, '/export', ' Scrape less often.')).principal);
  if (principal.role === 'billing')
    throw new StrataError(ErrorCode.FORBIDDEN, 'The billing role cannot export metrics; it is for: customer, internal.');
  const { config } = app;
  const request = parseExportRequest(new URL(req.url ?? '/', 'http://export.invalid').searchParams, config.metricsExport.maxClusters);
  const controller = new AbortController();
  const context = requestContext(app.services, principal, controller.signal);
  const { visible, hidden } = visibleClusters(request.clusters, context.scope, app.services.resources);
  if (visible.length === 0) {
    // The same answer for a foreign cluster as for a missing one: ids cannot be probed.
    throw new StrataError(
      ErrorCode.RESOURCE_NOT_FOUND,
      `No cluster of resource.kafka.id=${request.clusters.join(',')} was found. List the clusters you can export with the GraphQL \`resources\` query.`,
      { resourceIds: request.clusters },
    );
  }
  const admitted = edge.gate.tryEnter();
  if (admitted !== 'ok') return refuseAdmission(res, admitted);
  const disarm = armDeadline(res, controller, config.limits.queryTimeoutMs);
  try {
    const body = await exportBody(context, request, visible, hidden, config.metricsExport.delayMs);
    res.statusCode = 200;
    res.setHeader('content-type', OPENMETRICS_CONTENT_TYPE);
    res.setHeader('cache-control', 'no-store');
    if (edge.gate.isDraining) res.setHeader('Connection', 'close');
    res.end(req.method === 'HEAD' ? undefined : body);
  } finally {
    disarm();
    edge.gate.leave();
  }
}

async function exportBody(
  context: RequestContext,
  request: ExportRequest,
  visible: string[],
  hidden: string[],
  delayMs: number,
): Promise<string> {
  const window = exportWindow(context.now, delayMs);
  const exports = await exportFamilies(request, visible, window, timeseriesContext(context));
  const truncated = exports.filter((e) => e.truncated).map((e) => e.family.name);
  return renderOpenMetrics([...exports.map((e) => e.family), ...statusFamilies(hidden, truncated, window.start)]);
}

/** Export-specific statuses: a cluster nobody may see is a 404 here (GraphQL answers 200 with the error). */
const EXPORT_STATUS: Partial<Record<ErrorCode, number>> = { RESOURCE_NOT_FOUND: 404 };
