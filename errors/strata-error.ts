/**
 * The domain error model: a leaf module (no HTTP, no GraphQL), so that the
 * planner, pipeline, stores and auth can raise errors without importing the
 * edge. api/http/http-status.ts maps these codes to HTTP statuses and
 * api/graphql/graphql-errors.ts masks everything else.
 */

/**
 * The one public list of error codes. Clients switch on these; they never
 * change meaning. Messages state the value, the limit and what to do.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_REQUEST: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNKNOWN_METRIC: 'UNKNOWN_METRIC',
  UNKNOWN_LABEL: 'UNKNOWN_LABEL',
  INVALID_INTERVAL: 'INVALID_INTERVAL',
  INVALID_FILTER: 'INVALID_FILTER',
  INVALID_CURSOR: 'INVALID_CURSOR',
  RANGE_TOO_LARGE: 'RANGE_TOO_LARGE',
  RANGE_BEYOND_RETENTION: 'RANGE_BEYOND_RETENTION',
  RANGE_IN_FUTURE: 'RANGE_IN_FUTURE',
  POINTS_LIMIT_EXCEEDED: 'POINTS_LIMIT_EXCEEDED',
  LIMIT_OUT_OF_RANGE: 'LIMIT_OUT_OF_RANGE',
  RESOURCE_FILTER_REQUIRED: 'RESOURCE_FILTER_REQUIRED',
  RESOURCE_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  RATE_LIMITED: 'RATE_LIMITED',
  OVERLOADED: 'OVERLOADED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'StrataError';
    this.code = code;
    this.details = details;
  }
}

export const isStrataError = (e: unknown): e is StrataError => e instanceof StrataError;
