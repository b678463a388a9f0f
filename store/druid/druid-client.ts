import { randomUUID } from 'node:crypto';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';

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
/** Druid enforces `timeout` itself; our guard fires only if it does not answer at all. */
const CLIENT_GRACE_MS = 2_000;
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

  /**
   * Runs one SQL query; returns rows as objects keyed by column name. Results
   * come as `arrayLines`, whose closing blank line tells a complete answer from
   * one cut off mid-stream (Druid sends 200 before it has the rows, so a
   * failure after that only shows as a short body).
   */
  async sql(query: string, parameters: readonly DruidParam[], options: SqlOptions = {}): Promise<Json[]> {
    const queryId = options.queryId ?? randomUUID();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const body = {
      query,
      parameters,
      context: { sqlQueryId: queryId, timeout: timeoutMs, priority: LANE_PRIORITY[options.lane ?? 'internal'] },
      resultFormat: 'arrayLines',
      header: true,
    };
    const { status, text } = await this.send(body, queryId, timeoutMs, options.signal);
    if (status !== 200) throw druidError(status, text);
    return parseArrayLines(text);
  }

  /**
   * POSTs one query. The caller's signal and our own guard (Druid's timeout
   * plus a grace, for a broker that hangs without answering) both abort the
   * request and ask Druid to stop working on it.
   */
  private async send(
    body: Json,
    queryId: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    if (signal?.aborted) throw new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The query was cancelled before it reached the store.');
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = (): void => {
      controller.abort();
      // Best effort: the fetch abort alone only closes our socket.
      void this.cancel(queryId).catch(() => undefined);
    };
    const guard = setTimeout(() => {
      timedOut = true;
      onAbort();
    }, timeoutMs + CLIENT_GRACE_MS);
    signal?.addEventListener('abort', onAbort, { once: true });
    const stopped = (): StrataError | undefined =>
      timedOut
        ? new StrataError(ErrorCode.UPSTREAM_TIMEOUT, `The metrics store did not answer within ${timeoutMs + CLIENT_GRACE_MS} ms.`, {
            timeoutMs,
          })
        : signal?.aborted
          ? new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The store query was cancelled (deadline passed or client went away).')
          : undefined;
    try {
      let response: Response;
      try {
        response = await fetch(`${this.url}/druid/v2/sql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (error) {
        throw stopped() ?? withCause(new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store is unreachable.'), error);
      }
      try {
        const text = await response.text();
        const early = stopped();
        if (early) throw early;
        return { status: response.status, text };
      } catch (error) {
        throw stopped() ?? withCause(new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store broke off its answer.'), error);
      }
    } finally {
      clearTimeout(guard);
      signal?.removeEventListener('abort', onAbort);
    }
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

const malformed = (what: string): StrataError =>
  new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, `The metrics store returned a ${what} response; the query can be retried.`);

/**
 * Parses an `arrayLines` body: a header line, one JSON array per row, and a
 * closing blank line. No closing blank line means the body was cut off.
 */
export function parseArrayLines(text: string): Json[] {
  if (!text.endsWith('\n\n')) throw malformed('truncated');
  const lines = text.slice(0, -2).split('\n');
  let rows: unknown[];
  try {
    rows = lines.map((line) => JSON.parse(line) as unknown);
  } catch {
    throw malformed('malformed');
  }
  const [header, ...data] = rows;
  if (
    !Array.isArray(header) ||
    !header.every((h) => typeof h === 'string') ||
    !data.every((r) => Array.isArray(r) && r.length === header.length)
  ) {
    throw malformed('malformed');
  }
  return (data as unknown[][]).map((row) => Object.fromEntries(header.map((h: string, i) => [h, row[i]])));
}

/** Legacy (pre-druidException) error names, by what they mean to a caller. */
const LEGACY_TIMEOUT = new Set(['Query timeout', 'Query cancelled']);
const LEGACY_OVERLOAD = new Set(['Query capacity exceeded']);
const LEGACY_TOO_BIG = new Set(['Resource limit exceeded']);

/**
 * Maps a non-200 Druid answer, in either of its shapes: the legacy
 * `{error, errorMessage, errorClass}` and the `druidException`
 * `{error: "druidException", errorCode, category, persona, errorMessage}`.
 * Overload, outages and refused credentials are UPSTREAM_UNAVAILABLE (an
 * operator's problem, retryable); timeouts and cancellations
 * UPSTREAM_TIMEOUT; a query over Druid's resource limits QUERY_TOO_COMPLEX
 * (the caller can narrow it); invalid SQL is our own bug (a plain Error,
 * masked as INTERNAL at the edge, keeping Druid's message for the log).
 */
export function druidError(status: number, text: string): Error {
  const body = jsonObject(text);
  const str = (key: string): string | undefined => (typeof body?.[key] === 'string' ? (body[key] as string) : undefined);
  const category = str('category');
  const legacy = str('error');
  const errorCode = str('errorCode');
  const message = truncate(str('errorMessage') ?? legacy ?? text);
  const details = { druidStatus: status, druidCategory: category ?? null };
  if (status === 504 || category === 'TIMEOUT' || category === 'CANCELED' || (legacy && LEGACY_TIMEOUT.has(legacy))) {
    return new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'The metrics store did not answer in time.', details);
  }
  if (status === 429 || status === 503 || category === 'CAPACITY_EXCEEDED' || (legacy && LEGACY_OVERLOAD.has(legacy))) {
    return new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store is overloaded; retry shortly.', details);
  }
  if (legacy && LEGACY_TOO_BIG.has(legacy)) {
    return new StrataError(
      ErrorCode.QUERY_TOO_COMPLEX,
      'The query needs more than the metrics store allows for one query: narrow the interval, coarsen the granularity or group by fewer labels.',
      details,
    );
  }
  if (status === 401 || status === 403 || category === 'UNAUTHORIZED' || category === 'FORBIDDEN') {
    return new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, "The metrics store refused Strata's credentials.", details);
  }
  if (status === 400 || category === 'INVALID_INPUT' || category === 'UNSUPPORTED' || errorCode === 'invalidInput') {
    return new Error(`Druid rejected the query (HTTP ${status}, ${errorCode ?? legacy ?? 'unknown'}): ${message}`);
  }
  if (status >= 500 || !body) {
    return new StrataError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The metrics store failed to answer.', details);
  }
  return new Error(`Unexpected Druid answer (HTTP ${status}): ${message}`);
}

function jsonObject(text: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}
