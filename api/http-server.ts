import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap } from '@apollo/server';
import type { App } from './app.ts';
import { requestContext, type RequestContext } from '../resolvers/context.ts';
import { admitCaller, armDeadline, refuseAdmission, sendError, sendJson } from './http/admission.ts';
import { CallerGate } from './http/caller-gate.ts';
import { asReader } from '../auth/principal.ts';
import { refuseDeepInput } from './graphql/input-depth.ts';
import { ErrorCode } from '../errors/strata-error.ts';
import { InFlightGate } from './http/in-flight-gate.ts';
import { rateLimiterFromConfig, type RequestRateLimiter } from './http/rate-limiter.ts';
import { serveExport } from './export/export-endpoint.ts';
import { serveOtlpMetrics } from './otlp/otlp-route.ts';
import { readinessProbe, type Readiness } from './http/readiness.ts';
import { readBody } from './http/request-body.ts';
import { ResponseCache, type ResponseTicket } from './http/response-cache.ts';
import { serveMetrics } from '../observability/metrics.ts';
import { traceHttpRequest } from '../observability/tracing.ts';
import { attachSubscriptions } from './graphql/subscription-server.ts';
import { isExplorerPath, serveExplorer } from '../explorer/explorer-route.ts';

/** The Node server plus what a graceful stop needs. */
export type StrataServer = Server & {
  readonly gate: InFlightGate;
  readonly responses: ResponseCache;
  /** Stops admitting, lets in-flight requests finish (up to timeoutMs), then closes every connection. */
  drain(timeoutMs?: number): Promise<void>;
};

interface Edge {
  readonly app: App;
  readonly gate: InFlightGate;
  readonly callers: CallerGate;
  readonly limiter: RequestRateLimiter | undefined;
  readonly responses: ResponseCache;
  readonly readiness: (draining: boolean) => Promise<Readiness>;
}

/**
 * The HTTP edge. A GraphQL request passes these steps, in this order, and the
 * cheap refusals come first so that abuse costs the least:
 *   route → draining? → authenticate → rate limit → caller's share (in progress
 *   per tenant and token, held until answered) → read body (deadline, size
 *   limit, also after decompression) → process slot (in-flight cap, taken only
 *   once the body is in, so slow bodies hold none) → whole-answer replay
 *   (response cache) → execute (deadline, cancel on disconnect).
 */
export function createHttpServer(app: App): StrataServer {
  const { edge: limits } = app.config;
  const edge: Edge = {
    app,
    gate: new InFlightGate(limits.maxInFlight),
    callers: new CallerGate({ perTenant: limits.inFlightPerTenant, perToken: limits.inFlightPerToken }),
    limiter: rateLimiterFromConfig(app.config),
    responses: responseCacheOf(app),
    readiness: readinessProbe(app),
  };
  const server = createServer((req, res) => {
    route(edge, req, res).catch((error: unknown) => {
      app.log.error('request failed', { error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) });
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal error.', extensions: { code: ErrorCode.INTERNAL } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  server.on('close', () => edge.limiter?.close());
  // Subscriptions upgrade on /graphql; a drain closes them first (1001: reconnect elsewhere), as node:http does not track upgraded sockets.
  const live = attachSubscriptions(server, app);
  const drain = (timeoutMs = app.config.edge.drainTimeoutMs): Promise<void> =>
    live.close().then(() => drainServer(server, edge.gate, timeoutMs));
  return Object.assign(server, { gate: edge.gate, responses: edge.responses, drain });
}

/** Whole answers for repeated operations; an applied aggregation event invalidates those of the scopes it touched. */
const responseCacheOf = (app: App): ResponseCache => new ResponseCache({ ...app.config.responseCache, epoch: app.responseEpochs.of });

async function route(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  // Every answer is JSON or text of a declared type, and none may be kept by a shared cache
  // (the explorer's static files set their own caching).
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path !== undefined && isExplorerPath(path)) return serveExplorer(req, res);
  if (path === '/metrics') return serveMetrics(req, res);
  if (path === '/readyz') {
    const readiness = await edge.readiness(edge.gate.isDraining);
    return sendJson(res, readiness.httpStatus, readiness.body);
  }
  if (path === '/export') return serveExport(edge, req, res);
  if (path === '/v1/metrics') return serveOtlpMetrics(edge, req, res);
  if (path !== '/graphql') return sendJson(res, 404, { errors: [{ message: `No route ${path}; GraphQL is at /graphql.` }] });
  if (req.method !== 'POST' && req.method !== 'GET') {
    res.setHeader('Allow', 'GET, POST');
    return sendJson(res, 405, { errors: [{ message: 'Use POST (or GET for queries) on /graphql.' }] });
  }
  if (edge.gate.isDraining) return refuseAdmission(res, 'draining');
  await traceHttpRequest(req, res, () => graphqlRequest(edge, req, res));
}

async function graphqlRequest(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { app } = edge;
  const { limits, edge: edgeLimits } = app.config;
  let principal: RequestContext['principal'];
  try {
    principal = asReader((await admitCaller(edge, req, res, '/graphql')).principal);
  } catch (error) {
    // Refused before its body was read: the connection closes rather than drain a body that may trickle in.
    return sendError(res, error, { unread: true });
  }
  let text: string;
  try {
    text = await readBody(req, limits.maxBodyBytes, edgeLimits.bodyTimeoutMs);
  } catch (error) {
    return sendError(res, error, { unread: true });
  }
  const body = parseJson(text);
  try {
    refuseDeepInput(graphqlVariables(req, body), limits.maxInputDepth);
  } catch (error) {
    return sendError(res, error);
  }
  const admitted = edge.gate.tryEnter();
  if (admitted !== 'ok') return refuseAdmission(res, admitted);
  try {
    await answer(edge, req, res, principal, text, body);
  } finally {
    edge.gate.leave();
  }
}

/** Replays a kept answer, or executes the operation under the deadline. */
async function answer(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  principal: RequestContext['principal'],
  text: string,
  body: unknown,
): Promise<void> {
  const { app } = edge;
  const controller = new AbortController();
  const context = requestContext(app.services, principal, controller.signal);
  const ticket = edge.responses.ticket(req, context, text);
  if (ticket?.serve(res)) return;
  const disarm = armDeadline(res, controller, app.config.limits.queryTimeoutMs);
  if (edge.gate.isDraining) res.setHeader('Connection', 'close');
  await execute(app, req, res, body, context, ticket);
  disarm();
}

/** The variables of a POST body, or of a GET's query string (Apollo parses either). */
function graphqlVariables(req: IncomingMessage, body: unknown): unknown {
  if (req.method !== 'GET') return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['variables'] : undefined;
  const raw = new URL(req.url ?? '/', 'http://graphql.invalid').searchParams.get('variables');
  return raw === null ? undefined : parseJson(raw);
}

async function execute(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  context: RequestContext,
  ticket?: ResponseTicket,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  const search = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  const result = await app.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'POST', headers, search, body },
    context: async () => context,
  });
  for (const [key, value] of result.headers) res.setHeader(key, value);
  res.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    ticket?.store(res.statusCode, result.headers, result.body.string);
    return void res.end(result.body.string);
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // Apollo answers a 400 for a body that is not JSON.
  }
}

async function drainServer(server: Server, gate: InFlightGate, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([gate.drain(), deadline]);
  clearTimeout(timer);
  // Whatever is left past the deadline is cut; idle keep-alive sockets go now.
  server.closeAllConnections();
  await closed;
}
