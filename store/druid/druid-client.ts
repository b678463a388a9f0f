import { randomUUID } from 'node:crypto';
import { ErrorCode, StrataError } from '../../api/errors.ts';

/** A dynamic parameter: values never enter the SQL text. */
export interface DruidParam {
  readonly type: 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'TIMESTAMP' | 'BOOLEAN';
  readonly value: string | number | boolean;
}

export type Lane = 'customer' | 'internal' | 'billing';

/**
 * Query priority by caller class. Customers are latency-sensitive (dashboards),
 * so they outrank everything; internal tooling is interactive but may wait a
 * little (0 is Druid's default, customers get +10 above it); billing jobs are
 * batch work with generous deadlines, so they yield to both (-10).
 */
export const LANE_PRIORITY: Record<Lane, number> = { customer: 10, internal: 0, billing: -10 };

export interface DruidClientOptions {
  /** Broker URL (SQL), e.g. http://127.0.0.1:18082 */
  readonly url: string;
  /** Coordinator/overlord URL (task API, loadstatus). */
  readonly coordinatorUrl?: string;
  /** Druid-side query timeout in ms (context.timeout). */
  readonly timeoutMs?: number;
}

export interface SqlOptions {
  readonly signal?: AbortSignal;
  readonly lane?: Lane;
  readonly timeoutMs?: number;
  /** Lets a caller (or a test) know the id it may cancel with. */
  readonly queryId?: string;
}

type Json = Record<string, unknown>;

const MAX_MESSAGE = 500;
const truncate = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s);

/** Druid SQL over HTTP (Node's fetch). Every error maps to a StrataError or, for our own bugs, a plain Error. */
export class DruidClient {
  readonly url: string;
  readonly coordinatorUrl: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: DruidClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.coordinatorUrl = options.coordinatorUrl?.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Runs one SQL query; returns rows as objects keyed by column name. */
  async sql(query: string, parameters: readonly DruidParam[], options: SqlOptions = {}): Promise<Json[]> {
    const queryId = options.queryId ?? randomUUID();
    const { signal } = options;
    if (signal?.aborted) throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The query was cancelled before it reached the store.');
    const body = {
      query,
      parameters,
      context: { sqlQueryId: queryId, timeout: options.timeoutMs ?? this.timeoutMs, priority: LANE_PRIORITY[options.lane ?? 'internal'] },
      resultFormat: 'array',
      header: true,
    };
    const controller = new AbortController();
    const onAbort = (): void => {
      controller.abort();
      // Best effort: tell Druid to stop working on it (the fetch abort alone only closes our socket).
      void this.cancel(queryId).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let status: number;
    let text: string;
    try {
      const response = await fetch(`${this.url}/druid/v2/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled (deadline passed or client went away).');
      throw withCause(new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store is unreachable.'), error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled (deadline passed or client went away).');
    if (status !== 200) throw druidError(status, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store returned a truncated or malformed response.');
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !Array.isArray(parsed[0])) {
      throw new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store returned an unexpected response shape.');
    }
    const header = parsed[0] as string[];
    return (parsed.slice(1) as unknown[][]).map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]])));
  }

  /** DELETE /druid/v2/sql/{id}: 202 when it was running, 404 when it is not (any more). */
  async cancel(queryId: string): Promise<number> {
    const response = await fetch(`${this.url}/druid/v2/sql/${encodeURIComponent(queryId)}`, { method: 'DELETE' });
    await response.text().catch(() => undefined);
    return response.status;
  }

  /** A raw HTTP call returning status and parsed JSON (or undefined), for the task and coordinator APIs. */
  async http(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw withCause(new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store is unreachable.'), error);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  }
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
  return error;
}

/**
 * Maps a non-200 Druid answer: overload and outages are UPSTREAM_UNAVAILABLE,
 * timeouts and cancellations UPSTREAM_TIMEOUT, and invalid SQL is our own bug
 * (a plain Error, masked as INTERNAL at the edge, keeping Druid's message for the log).
 */
export function druidError(status: number, text: string): Error {
  let body: Json | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Json;
  } catch {
    body = undefined;
  }
  const category = typeof body?.['category'] === 'string' ? body['category'] : undefined;
  const errorCode = typeof body?.['errorCode'] === 'string' ? body['errorCode'] : undefined;
  const message = truncate(String(body?.['errorMessage'] ?? body?.['error'] ?? text ?? ''));
  const details = { druidStatus: status, druidCategory: category ?? null };
  if (status === 504 || category === 'TIMEOUT' || category === 'CANCELED' || body?.['error'] === 'Query timeout') {
    return new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The metrics store did not answer in time.', details);
  }
  if (status === 429 || category === 'CAPACITY_EXCEEDED') {
    return new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store is overloaded.', details);
  }
  if (status === 400 || category === 'INVALID_INPUT' || errorCode === 'invalidInput') {
    // Both the legacy {error, errorMessage} and the druidException shape: a query we built is wrong.
    return new Error(`Druid rejected the query (HTTP ${status}, ${errorCode ?? String(body?.['error'] ?? 'unknown')}): ${message}`);
  }
  if (status >= 500 || !body) {
    return new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store failed to answer.', details);
  }
  return new Error(`Unexpected Druid answer (HTTP ${status}): ${message}`);
}
