import type protobuf from 'protobufjs';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';
import type { OtlpMetricsRequest } from '../../ingest/otlp-request.ts';
import { OTLP } from './otlp-schema.ts';

/** The two encodings of OTLP/HTTP; an answer is in its request's. */
export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** The encoding a Content-Type names (parameters such as charset aside), or undefined. */
export function encodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type === CONTENT_TYPES.protobuf) return 'protobuf';
  if (type === CONTENT_TYPES.json) return 'json';
  return undefined;
}

/** Decoded messages as the mapping reads them: 64-bit integers as decimal strings, enums as integers, unset fields absent. */
const AS_PLAIN: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false };

/**
 * Decodes an ExportMetricsServiceRequest: protobuf, or the OTLP JSON mapping
 * (lowerCamelCase keys, 64-bit integers as strings or numbers, enums as
 * integers or names; unknown keys ignored). Anything that does not decode
 * is a 400, which OTLP senders do not retry.
 */
export function decodeRequest(body: Buffer, encoding: OtlpEncoding): OtlpMetricsRequest {
  try {
    const message = encoding === 'protobuf' ? OTLP.request.decode(body) : OTLP.request.fromObject(jsonObject(body));
    return OTLP.request.toObject(message, AS_PLAIN) as OtlpMetricsRequest;
  } catch (error) {
    // A RangeError (input nested too deep to walk) is undecodable data too.
    const why = error instanceof Error ? error.message : String(error);
    throw new StrataError(
      ErrorCode.BAD_REQUEST,
      `The body is not an ExportMetricsServiceRequest in ${encoding === 'protobuf' ? 'protobuf' : 'OTLP JSON'} (${why.slice(0, 200)}); the data is not retried, fix the sender.`,
    );
  }
}

function jsonObject(body: Buffer): Record<string, unknown> {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the JSON body is not an object');
  return parsed as Record<string, unknown>;
}

/** ExportMetricsServiceResponse: empty when every point was accepted, else partial_success with the count and the reasons. */
export function encodeResponse(rejected: number, errorMessage: string, encoding: OtlpEncoding): Buffer {
  const body = rejected > 0 || errorMessage ? { partialSuccess: { rejectedDataPoints: rejected, errorMessage } } : {};
  if (encoding === 'protobuf') return Buffer.from(OTLP.response.encode(OTLP.response.fromObject(body)).finish());
  const json = rejected > 0 || errorMessage ? { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage } } : {};
  return Buffer.from(JSON.stringify(json));
}

/** The gRPC status code OTLP's Status carries for an HTTP status. */
const GRPC_CODE: Readonly<Record<number, number>> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  408: 4,
  413: 8,
  415: 3,
  429: 8,
  500: 13,
  501: 12,
  503: 14,
  504: 4,
};

/** google.rpc.Status, the body OTLP/HTTP gives every 4xx and 5xx answer. */
export function encodeStatus(httpStatus: number, message: string, encoding: OtlpEncoding): Buffer {
  const status = { code: GRPC_CODE[httpStatus] ?? 2, message };
  if (encoding === 'protobuf') return Buffer.from(OTLP.status.encode(OTLP.status.fromObject(status)).finish());
  return Buffer.from(JSON.stringify(status));
}
