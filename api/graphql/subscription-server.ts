import type { Server } from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context, type SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { SCHEMA_SDL } from '../../schema/schema-sdl.ts';
import { maskError } from './graphql-errors.ts';
import { authenticate as authenticateToken } from '../../auth/authenticate.ts';
import { AuthenticationError, bearerToken } from '../../auth/verify-token.ts';
import { callerKey, tokenKey, type Principal } from '../../auth/principal.ts';
import type { JwtConfig, SubscriptionConfig } from '../../config/config.ts';
import type { Logger } from '../../observability/logger.ts';
import type { LandedFeed } from '../../subscriptions/landed-feed.ts';
import { refuseDeepInput } from './input-depth.ts';
import { resolvers } from '../../resolvers/resolvers.ts';
import { subscriptionContext } from '../../resolvers/aggregation-landed.ts';
import { ConnectionShares, SHARE_CLOSE_CODE, type ShareLimits } from './connection-shares.ts';
import { acceptUpgrades, type Verified } from './upgrade-admission.ts';

export interface SubscriptionLimits extends ShareLimits {
  /** WebSocket connections open at once in this process; past it an upgrade evicts the oldest unauthenticated socket, or gets HTTP 503. */
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

/** What the live server reads of the app (an App is one). */
export interface LiveApp {
  readonly config: {
    readonly jwt: JwtConfig;
    readonly subscriptions: SubscriptionConfig;
    readonly limits: { readonly maxInputDepth: number };
  };
  readonly landed: LandedFeed;
  readonly log: Logger;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  maxConnections: 500,
  connectionsPerTenant: 25,
  connectionsPerToken: 10,
  maxPendingConnections: 100,
  maxSubscriptionsPerConnection: 20,
  maxPayloadBytes: 16 * 1024,
  connectionInitWaitMs: 5_000,
  maxTokens: 500,
};

/** The limits of this process's configuration (STRATA_WS_*); the rest are the defaults. */
export function subscriptionLimitsFrom(config: SubscriptionConfig): SubscriptionLimits {
  const { maxConnections, connectionsPerTenant, connectionsPerToken } = config;
  // A fifth of the connections (at most 100) may await authentication: enough for a reconnect wave, never all of them.
  const maxPendingConnections = Math.max(1, Math.min(100, Math.floor(maxConnections / 5)));
  return { ...DEFAULT_SUBSCRIPTION_LIMITS, maxConnections, connectionsPerTenant, connectionsPerToken, maxPendingConnections };
}

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
 * Each caller key and token holds a bounded share of the connections (1013
 * past it), and sockets not yet authenticated are evicted before they can
 * crowd authenticated ones out (subscriptions/connection-shares.ts).
 * Only subscription operations run here: queries keep the HTTP edge's
 * admission, rate limits and validation rules.
 */
export function attachSubscriptions(
  server: Server,
  app: LiveApp,
  limits: SubscriptionLimits = subscriptionLimitsFrom(app.config.subscriptions),
): LiveServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false });
  const schema = makeExecutableSchema({ typeDefs: SCHEMA_SDL, resolvers });
  const principals = new WeakMap<WebSocket, Principal>();
  const shares = new ConnectionShares<WebSocket>(limits);
  let closing = false;
  const disposable = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitWaitMs,
      onConnect: (ctx) => authenticate(app, ctx, principals, shares),
      onSubscribe: (ctx, _id, payload) => executionArgs(app, schema, limits, ctx, payload, principals.get(ctx.extra.socket)),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => maskError(e.toJSON(), e, app.log.write)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e.toJSON(), e, app.log.write)),
    },
    wss,
  );
  acceptUpgrades(server, wss, {
    shares,
    maxConnections: limits.maxConnections,
    closing: () => closing,
    // A client that can send headers (a service, not a browser) authenticates at the upgrade: it never waits as pending.
    verify: (header) => verify(app, header),
    admitted: (socket, { token, principal }) => {
      principals.set(socket, principal);
      closeAtExpiry(socket, token);
    },
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

/**
 * connection_init: verify `connectionParams.authorization` (a bearer token;
 * the bare token is accepted too), then take one connection of the caller's
 * and the token's shares.
 */
async function authenticate(
  app: LiveApp,
  ctx: WsContext,
  principals: WeakMap<WebSocket, Principal>,
  shares: ConnectionShares<WebSocket>,
): Promise<boolean> {
  const { socket } = ctx.extra;
  if (principals.has(socket)) return true; // authenticated at the upgrade, with its shares taken then
  const verified = await verify(app, ctx.connectionParams?.['authorization']);
  if (!verified) {
    socket.close(CloseCode.Unauthorized, UNAUTHORIZED_REASON);
    return false;
  }
  const { token, principal } = verified;
  const refusal = shares.admit(socket, callerKey(principal), tokenKey(token));
  if (refusal !== undefined) {
    app.log.warn('websocket connection share refused', { caller: callerKey(principal), reason: refusal });
    socket.close(SHARE_CLOSE_CODE, refusal);
    return false;
  }
  principals.set(socket, principal);
  closeAtExpiry(socket, token);
  return true;
}

async function verify(app: LiveApp, raw: unknown): Promise<Verified | undefined> {
  try {
    const header = typeof raw !== 'string' ? undefined : /^bearer /i.test(raw) ? raw : `Bearer ${raw}`;
    const token = bearerToken(header);
    return { token, principal: await authenticateToken(app.config.jwt, token, 'websocket', app.log.warn) };
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    return undefined;
  }
}

/** A live connection must not outlive its token: it closes (4401) when `exp` passes. */
function closeAtExpiry(socket: WebSocket, token: string): void {
  const exp = expiryOf(token);
  if (exp === undefined) return;
  // setTimeout holds at most ~24.8 days; a longer token is re-checked then.
  const delay = Math.min(Math.max(exp * 1000 - Date.now(), 0), 2 ** 31 - 1);
  const timer = setTimeout(
    () => socket.close(CloseCode.Unauthorized, 'Unauthorized: the token expired; reconnect with a fresh one'),
    delay,
  );
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
  app: LiveApp,
  schema: GraphQLSchema,
  limits: SubscriptionLimits,
  ctx: WsContext,
  payload: SubscribePayload,
  principal: Principal | undefined,
): ExecutionArgs | readonly GraphQLError[] {
  if (!principal) return [problem('Not authenticated.', 'UNAUTHENTICATED')];
  if (principal.role === 'collector') return [problem('The collector role writes telemetry and reads nothing.', 'FORBIDDEN')];
  // The subscription being set up is already in ctx.subscriptions.
  const open = Object.keys(ctx.subscriptions).length;
  if (open > limits.maxSubscriptionsPerConnection) {
    return [
      problem(
        `This connection holds ${limits.maxSubscriptionsPerConnection} subscriptions, the limit; complete one first or open another connection.`,
        'QUERY_TOO_COMPLEX',
      ),
    ];
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
  try {
    refuseDeepInput(payload.variables, app.config.limits.maxInputDepth);
  } catch (error) {
    return [problem(error instanceof Error ? error.message : 'Input too deep.', 'QUERY_TOO_COMPLEX')];
  }
  return {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: payload.variables,
    contextValue: subscriptionContext(principal, app.landed),
  };
}

const problem = (message: string, code: string): GraphQLError => new GraphQLError(message, { extensions: { code } });
