import type { ErrorCode } from '../../errors/strata-error.ts';

/** The HTTP status of each code that has one of its own (others answer 400, or 200 within GraphQL). */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
  INTERNAL: 500,
};
