import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap } from '@apollo/server';
import { bearerToken, verifyToken } from '../auth/verify-token.ts';
import type { App } from './app.ts';
import { requestContext, type RequestContext } from './context.ts';
import { ErrorCode, StrataError, isStrataError } from './errors.ts';

/**
 * The HTTP edge: health, then GraphQL. Authentication and the body limit run
 * before Apollo parses anything, so a bad token or a huge body costs no parse.
 */
export function createHttpServer(app: App): Server {
  const server = createServer((req, res) => {
    handle(app, req, res).catch((error: unknown) => {
      app.log.error('request failed', { error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) });
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal error.', extensions: { code: ErrorCode.INTERNAL } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (url.pathname !== '/graphql') return sendJson(res, 404, { errors: [{ message: `No route ${url.pathname}; GraphQL is at /graphql.` }] });
  if (req.method !== 'POST' && req.method !== 'GET') {
    res.setHeader('Allow', 'GET, POST');
    return sendJson(res, 405, { errors: [{ message: 'Use POST (or GET for queries) on /graphql.' }] });
  }
  let context: RequestContext;
  const controller = new AbortController();
  try {
    context = buildContext(app, req, controller.signal);
  } catch (error) {
    return sendError(res, error);
  }
  const body = await readBody(req, app.services.config.limits.maxBodyBytes).catch((e: unknown) => e);
  if (body instanceof Error) return sendError(res, body);
  // A client that goes away, or a request past its deadline, cancels its store queries.
  const timer = setTimeout(() => controller.abort(), app.services.config.limits.queryTimeoutMs);
  res.on('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) controller.abort();
  });
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  const result = await app.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method, headers, search: url.search, body: parseJson(body as string) },
    context: async () => context,
  });
  clearTimeout(timer);
  for (const [key, value] of result.headers) res.setHeader(key, value);
  res.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') return void res.end(result.body.string);
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

function buildContext(app: App, req: IncomingMessage, signal: AbortSignal): RequestContext {
  const principal = verifyToken(bearerToken(req.headers.authorization), app.services.config.jwt, Date.now());
  return requestContext(app.services, principal, signal);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge(declared, limit));
  if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
    return Promise.reject(new StrataError(ErrorCode.BAD_REQUEST, 'Compressed request bodies are not accepted; send plain JSON.'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(tooLarge(size, limit));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // Apollo answers a 400 for a body that is not JSON.
  }
}

const tooLarge = (size: number, limit: number): StrataError =>
  new StrataError(ErrorCode.PAYLOAD_TOO_LARGE, `The request body has ${size} bytes, over the limit of ${limit}. Send a smaller document.`);

function sendError(res: ServerResponse, error: unknown): void {
  if (!isStrataError(error)) throw error;
  const status = error.code === ErrorCode.UNAUTHENTICATED ? 401 : error.code === ErrorCode.PAYLOAD_TOO_LARGE ? 413 : 400;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  sendJson(res, status, { errors: [{ message: error.message, extensions: { code: error.code } }] });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
