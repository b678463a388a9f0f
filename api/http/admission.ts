import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate } from '../../auth/authenticate.ts';
import type { JwtConfig } from '../../config/config.ts';
import type { Logger } from '../../observability/logger.ts';
import { bearerToken } from '../../auth/verify-token.ts';
import type { CallerGate } from './caller-gate.ts';
import type { Principal } from '../../auth/principal.ts';
import { ErrorCode, StrataError, isStrataError } from '../../errors/strata-error.ts';
import { HTTP_STATUS } from './http-status.ts';
import type { RequestRateLimiter } from './rate-limiter.ts';
import { CallerGone, DeadlinePassed } from '../../pipeline/cancellation.ts';

/**
 * The admission steps every token-scoped route shares (/graphql, /export), so
 * that each refuses the same way: one 503 for a full or draining server, one
 * generic 401 with the reason in the log, one quota and its headers.
 */

export function refuseAdmission(res: ServerResponse, reason: 'full' | 'draining'): void {
  res.setHeader('Retry-After', '1');
  if (reason === 'draining') res.setHeader('Connection', 'close');
  const message =
    reason === 'full'
      ? 'The server is at its limit of concurrent requests; retry after the Retry-After delay.'
      : 'The server is shutting down; retry (another replica will answer).';
  sendJson(res, 503, { errors: [{ message, extensions: { code: ErrorCode.OVERLOADED } }] });
}

export interface CallerAdmission {
  /** What admission reads of the app: the token keys and the log. */
  readonly app: { readonly config: { readonly jwt: JwtConfig }; readonly log: Logger };
  readonly limiter: RequestRateLimiter | undefined;
  readonly callers: CallerGate;
}

/**
 * The caller's admission, on every token-scoped route: authenticate, spend a
 * request of its quotas, and count it against its tenant's and token's share
 * of requests in progress until the answer is sent (or the client goes).
 */
export async function admitCaller(
  edge: CallerAdmission,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  advice = '',
): Promise<{ principal: Principal; token: string }> {
  const token = bearerToken(req.headers.authorization);
  const principal = await authenticate(edge.app.config.jwt, token, route, edge.app.log.warn);
  await spendQuota(edge.limiter, principal, token, res, advice);
  const leave = edge.callers.enter(principal, token);
  res.once('close', leave);
  return { principal, token };
}

/** Spends one request of the caller's quotas and sets the RateLimit headers; over a quota, RATE_LIMITED. */
export async function spendQuota(
  limiter: RequestRateLimiter | undefined,
  principal: Principal,
  token: string,
  res: ServerResponse,
  advice = '',
): Promise<void> {
  if (!limiter) return;
  const decision = await limiter.admit(principal, token);
  for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
  if (decision.allowed) return;
  const message = `Rate limit exceeded for this ${decision.quota}; retry in ${decision.retryAfterS} s (see the RateLimit and RateLimit-Policy headers).${advice}`;
  throw new StrataError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: decision.retryAfterS });
}

/**
 * A client that goes away, or a request past its deadline, cancels its store
 * queries. Returns the function that disarms the deadline once answered.
 */
export function armDeadline(res: ServerResponse, controller: AbortController, timeoutMs: number): () => void {
  // The reason tells the breakers whose doing the cancellation is (pipeline/cancellation.ts).
  const timer = setTimeout(() => controller.abort(new DeadlinePassed(timeoutMs)), timeoutMs);
  res.on('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) controller.abort(new CallerGone());
  });
  return () => clearTimeout(timer);
}

export interface ErrorOptions {
  /** The body was not read: close the connection rather than parse leftovers as a next request. */
  readonly unread?: boolean;
  /** Route-specific statuses over the shared ones. */
  readonly statuses?: Partial<Record<ErrorCode, number>>;
}

export function sendError(res: ServerResponse, error: unknown, options: ErrorOptions = {}): void {
  if (!isStrataError(error)) throw error;
  const status = options.statuses?.[error.code] ?? HTTP_STATUS[error.code] ?? 400;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  const retryAfter = error.details['retryAfterSeconds'];
  if (typeof retryAfter === 'number' && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(retryAfter));
  if (options.unread) res.setHeader('Connection', 'close');
  sendJson(res, status, { errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
