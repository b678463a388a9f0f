import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context, type SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { SCHEMA_SDL, type App } from '../api/app.ts';
import { maskError } from '../api/errors.ts';
import { authenticate as authenticateToken } from '../api/edge-steps.ts';
import { AuthenticationError, bearerToken } from '../auth/verify-token.ts';
import type { Principal } from '../auth/principal.ts';
import { resolvers } from '../resolvers/resolvers.ts';
import { subscriptionContext } from './aggregation-landed.ts';

export interface SubscriptionLimits {
  /** WebSocket connections open at once in this process; more are refused with HTTP 503. */
  readonly maxConnections: number;
  /** Subscriptions one connection may hold at once; more get an error message. */
  readonly maxSubscriptionsPerConnection: number;
  /** Largest message a client may send (a subscribe message is a few hundred bytes). */
  readonly maxPayloadBytes: number;
  /** A connection that has not sent connection_init by then is closed (4408). */
  readonly connectionInitWaitMs: number;
  /** Tokens in one subscription document. */
  readonly maxTokens: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  maxConnections: 500,
  maxSubscriptionsPerConnection: 20,
  maxPayloadBytes: 16 * 1024,
  connectionInitWaitMs: 5_000,
  maxTokens: 500,
};

export const LIVE_PATH = '/graphql';

/** Close reasons are limited to 123 bytes by the WebSocket protocol: keep them short. */
const UNAUTHORIZED_REASON = 'Unauthorized: send connectionParams {authorization: "Bearer <token>"}';

export interface LiveServer {
  readonly connections: () => number;
  /** Closes every socket (1001, clients reconnect elsewhere) and refuses new upgrades. */
  close(): Promise<void>;
}

type WsContext = Context<Record<string, unknown>, Extra>;

/**
 * GraphQL subscriptions over WebSocket (graphql-transport-ws, via graphql-ws)
 * on the HTTP server's `/graphql` upgrade. The token is verified once, at
 * connection_init, with the same verifyToken as HTTP; a refused token closes
 * with 4401 and a token that expires while connected closes the same way.
 * Only subscription operations run here: queries keep the HTTP edge's
 * admission, rate limits and validation rules.
 */
export function attachSubscriptions(server: Server, app: App, limits: SubscriptionLimits = DEFAULT_SUBSCRIPTION_LIMITS): LiveServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false });
  const schema = makeExecutableSchema({ typeDefs: SCHEMA_SDL, resolvers });
  const principals = new WeakMap<WebSocket, Principal>();
  let closing = false;
  const disposable = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitWaitMs,
      onConnect: (ctx) => authenticate(app, ctx, principals),
      onSubscribe: (ctx, id, payload) => executionArgs(app, schema, limits, ctx, payload, principals.get(ctx.extra.socket)),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => maskError(e.toJSON(), e, app.log.write)) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e.toJSON(), e, app.log.write)),
    },
    wss,
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = upgradeRefusal(req, closing, wss.clients.size, limits.maxConnections);
    if (refusal) return refuseUpgrade(socket, refusal.status, refusal.message);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const live: LiveServer = {
    connections: () => wss.clients.size,
    async close() {
      if (closing) return;
      closing = true;
      await disposable.dispose();
    },
  };
  app.landed.onClose(() => void live.close());
  return live;
}

function upgradeRefusal(req: IncomingMessage, closing: boolean, open: number, max: number): { status: number; message: string } | undefined {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== LIVE_PATH) return { status: 404, message: `No WebSocket endpoint at ${path}; subscriptions are at ${LIVE_PATH}.` };
  if (closing) return { status: 503, message: 'The server is shutting down; reconnect (another replica will answer).' };
  if (open >= max) return { status: 503, message: `This server holds ${max} WebSocket connections, its limit; retry later.` };
  return undefined;
}

/** An upgrade is refused with a plain HTTP answer, before any WebSocket exists. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ errors: [{ message }] });
  const reason = status === 404 ? 'Not Found' : 'Service Unavailable';
  const retry = status === 503 ? 'Retry-After: 1\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n${retry}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** connection_init: verify `connectionParams.authorization` (a bearer token; the bare token is accepted too). */
async function authenticate(app: App, ctx: WsContext, principals: WeakMap<WebSocket, Principal>): Promise<boolean> {
  const { socket } = ctx.extra;
  const raw = ctx.connectionParams?.['authorization'];
  try {
    const header = typeof raw !== 'string' ? undefined : /^bearer /i.test(raw) ? raw : `Bearer ${raw}`;
    const token = bearerToken(header);
    const principal = await authenticateToken(app, token, 'websocket');
    principals.set(socket, principal);
    closeAtExpiry(socket, token);
    return true;
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    socket.close(CloseCode.Unauthorized, UNAUTHORIZED_REASON);
    return false;
  }
}

/** A live connection must not outlive its token: it closes (4401) when `exp` passes. */
function closeAtExpiry(socket: WebSocket, token: string): void {
  const exp = expiryOf(token);
  if (exp === undefined) return;
  // setTimeout holds at most ~24.8 days; a longer token is re-checked then.
  const delay = Math.min(Math.max(exp * 1000 - Date.now(), 0), 2 ** 31 - 1);
  const timer = setTimeout(() => socket.close(CloseCode.Unauthorized, 'Unauthorized: the token expired; reconnect with a fresh one'), delay);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function expiryOf(token: string): number | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const exp = typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>)['exp'] : undefined;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined; // verifyToken already accepted it; an unreadable exp cannot happen, and then nothing is scheduled
  }
}

function executionArgs(
  app: App,
  schema: GraphQLSchema,
  limits: SubscriptionLimits,
  ctx: WsContext,
  payload: SubscribePayload,
  principal: Principal | undefined,
): ExecutionArgs | readonly GraphQLError[] {
  if (!principal) return [problem('Not authenticated.', 'UNAUTHENTICATED')];
  // The subscription being set up is already in ctx.subscriptions.
  const open = Object.keys(ctx.subscriptions).length;
  if (open > limits.maxSubscriptionsPerConnection) {
    return [problem(`This connection holds ${limits.maxSubscriptionsPerConnection} subscriptions, the limit; complete one first or open another connection.`, 'QUERY_TOO_COMPLEX')];
  }
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: limits.maxTokens });
  } catch (error) {
    return [problem(error instanceof Error ? error.message : 'Syntax error.', 'GRAPHQL_PARSE_FAILED')];
  }
  const operation = getOperationAST(document, payload.operationName);
  if (operation?.operation !== 'subscription') {
    return [problem('Only subscriptions run over WebSocket; send queries with POST /graphql.', 'BAD_REQUEST')];
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return errors.map((e) => problem(e.message, 'GRAPHQL_VALIDATION_FAILED'));
  return {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: payload.variables,
    contextValue: subscriptionContext(principal, app.landed),
  };
}

const problem = (message: string, code: string): GraphQLError => new GraphQLError(message, { extensions: { code } });
