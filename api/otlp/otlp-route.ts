import type { IncomingMessage, ServerResponse } from 'node:http';
import { asWriter, callerKey, writeScopeOf } from '../../auth/principal.ts';
import type { MetricDefinition } from '../../catalog/catalog.ts';
import type { IngestConfig } from '../../config/config.ts';
import { isStrataError } from '../../errors/strata-error.ts';
import { OTLP_POINT_COUNTERS } from '../../observability/metrics.ts';
import { mapOtlpRequest } from '../../ingest/otlp-mapping.ts';
import type { PointWriter } from '../../ingest/point-writer.ts';
import type { Refusals } from '../../ingest/refusals.ts';
import { admitCaller, type CallerAdmission } from '../http/admission.ts';
import { HTTP_STATUS } from '../http/http-status.ts';
import type { InFlightGate } from '../http/in-flight-gate.ts';
import { readBodyBytes } from '../http/request-body.ts';
import { CONTENT_TYPES, decodeRequest, encodeResponse, encodeStatus, encodingOf, type OtlpEncoding } from './otlp-wire.ts';

/** What the OTLP route needs of the edge: admission, the process slots and the write path. */
export interface OtlpEdge extends CallerAdmission {
  readonly gate: InFlightGate;
  readonly app: CallerAdmission['app'] & {
    readonly config: {
      readonly ingest: IngestConfig;
      readonly edge: { readonly bodyTimeoutMs: number };
      readonly fixedNow: number | undefined;
    };
    readonly services: { readonly catalog: { readonly metrics: readonly MetricDefinition[] } };
    /** Undefined where the store has no write path yet (Druid, cluster workers). */
    readonly pointWriter: PointWriter | undefined;
  };
}

/** Clusters a refusal names at most (the caller named them itself, so naming them discloses nothing). */
const NAMED_CLUSTERS = 10;

/**
 * POST /v1/metrics, OTLP/HTTP. The same chain as /graphql, in the same order
 * and for the same reasons (api/http-server.ts): content type → draining? →
 * authenticate → quota → caller's share → the writer role → read the body
 * (deadline, size limit after decompression) → process slot → decode → map →
 * the bounded write queue → the answer, sent only once the points are
 * committed. Every refusal is a google.rpc.Status in the request's encoding.
 */
export async function serveOtlpMetrics(edge: OtlpEdge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const encoding = encodingOf(req.headers['content-type']);
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return sendStatus(res, 405, 'Send OTLP metrics with POST /v1/metrics.', encoding ?? 'json', { unread: true });
  }
  if (!encoding) {
    const message = `Content-Type "${req.headers['content-type'] ?? ''}" is not OTLP; send ${CONTENT_TYPES.protobuf} or ${CONTENT_TYPES.json}.`;
    return sendStatus(res, 415, message, 'json', { unread: true });
  }
  if (edge.gate.isDraining)
    return sendStatus(res, 503, 'The server is shutting down; retry.', encoding, { unread: true, retryAfterSeconds: 1 });
  let scope: ReturnType<typeof writeScopeOf>;
  let caller: string;
  let body: Buffer;
  try {
    const writer = asWriter((await admitCaller(edge, req, res, '/v1/metrics')).principal);
    scope = writeScopeOf(writer);
    caller = callerKey(writer);
    body = await readBodyBytes(req, edge.app.config.ingest.maxBodyBytes, edge.app.config.edge.bodyTimeoutMs);
  } catch (error) {
    return sendError(res, error, encoding, true);
  }
  const admitted = edge.gate.tryEnter();
  if (admitted !== 'ok')
    return sendStatus(res, 503, 'The server is at its limit of concurrent requests; retry.', encoding, { retryAfterSeconds: 1 });
  try {
    await ingest(edge, res, body, encoding, scope, caller);
  } catch (error) {
    sendError(res, error, encoding, false, edge);
  } finally {
    edge.gate.leave();
  }
}

async function ingest(
  edge: OtlpEdge,
  res: ServerResponse,
  body: Buffer,
  encoding: OtlpEncoding,
  scope: ReturnType<typeof writeScopeOf>,
  caller: string,
): Promise<void> {
  const { app } = edge;
  const writer = app.pointWriter;
  if (!writer) {
    const message =
      'This server has no write path for telemetry yet: POST /v1/metrics needs the embedded store (STRATA_STORE=duckdb) with STRATA_WORKERS=1.';
    return sendStatus(res, 501, message, encoding);
  }
  const { maxFutureMs, maxLatenessMs } = app.config.ingest;
  const rules = { now: app.config.fixedNow ?? Date.now(), maxFutureMs, maxLatenessMs };
  const { points, refusals } = mapOtlpRequest(decodeRequest(body, encoding), { ...rules, metrics: app.services.catalog.metrics });
  const written = await writer.write(points, scope, caller);
  refuseClusters(refusals, written.refused, written.refusedClusters);
  if (written.overSeriesLimit) {
    const { points: n, limit } = written.overSeriesLimit;
    refusals.add(
      `new series past the tenant's limit of ${limit} series (STRATA_OTLP_MAX_SERIES_PER_TENANT): send fewer distinct label values, or ask the operator to raise it`,
      n,
    );
  }
  OTLP_POINT_COUNTERS.accepted.inc(written.accepted);
  OTLP_POINT_COUNTERS.refused.inc(refusals.total);
  res.statusCode = 200;
  res.setHeader('content-type', CONTENT_TYPES[encoding]);
  res.end(encodeResponse(refusals.total, refusals.message(), encoding));
}

function refuseClusters(refusals: Refusals, points: number, clusters: readonly string[]): void {
  const named = clusters.slice(0, NAMED_CLUSTERS).map((c) => JSON.stringify(c.slice(0, 64)));
  const more = clusters.length > NAMED_CLUSTERS ? ` and ${clusters.length - NAMED_CLUSTERS} more` : '';
  refusals.add(`cluster not registered, or not writable with this token: ${named.join(', ')}${more}`, points);
}

interface StatusOptions {
  readonly unread?: boolean;
  readonly retryAfterSeconds?: number;
}

function sendStatus(res: ServerResponse, status: number, message: string, encoding: OtlpEncoding, options: StatusOptions = {}): void {
  if (options.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(options.retryAfterSeconds));
  // Refused before its body was read: close rather than drain a body that may trickle in.
  if (options.unread) res.setHeader('Connection', 'close');
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.statusCode = status;
  res.setHeader('content-type', CONTENT_TYPES[encoding]);
  res.end(encodeStatus(status, message, encoding));
}

/**
 * A Strata error at its status; anything else is the store failing mid-write
 * (nothing was committed): 503 with Retry-After, which OTLP senders retry, and
 * the cause in the log.
 */
function sendError(res: ServerResponse, error: unknown, encoding: OtlpEncoding, unread: boolean, edge?: OtlpEdge): void {
  if (!isStrataError(error)) {
    edge?.app.log.error('telemetry write failed', {
      error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
    });
    sendStatus(res, 503, 'The store could not commit the points; nothing was stored. Retry.', encoding, { retryAfterSeconds: 1 });
    return;
  }
  const status = HTTP_STATUS[error.code] ?? 400;
  const retry = error.details['retryAfterSeconds'];
  const options = { unread, ...(typeof retry === 'number' ? { retryAfterSeconds: retry } : {}) };
  sendStatus(res, status, `${error.code}: ${error.message}`, encoding, options);
}
