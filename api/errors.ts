import { GraphQLError, type GraphQLFormattedError } from 'graphql';

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

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'StrataError';
    this.code = code;
    this.details = details;
  }

  toGraphQL(): GraphQLError {
    return new GraphQLError(this.message, {
      extensions: { code: this.code, ...this.details, http: { status: HTTP_STATUS[this.code] ?? 200 } },
    });
  }
}

export const isStrataError = (e: unknown): e is StrataError => e instanceof StrataError;

/** Codes GraphQL itself produces for bad documents; safe to show as they are. */
const GRAPHQL_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  ...Object.values(ErrorCode),
]);

/**
 * Edge masking: a known code passes through; anything else becomes INTERNAL
 * with no stack, SQL or path to a file, and the whole error goes to the log.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  original: unknown,
  log: (entry: Record<string, unknown>) => void,
): GraphQLFormattedError {
  const cause = original instanceof GraphQLError ? (original.originalError ?? original) : original;
  if (isStrataError(cause)) {
    return { message: cause.message, path: formatted.path, extensions: { code: cause.code, ...cause.details } };
  }
  const code = formatted.extensions?.['code'];
  // Errors GraphQL itself raised (parse, validation, armor limits) carry no secrets; plain Errors might.
  const fromGraphQL = !(cause instanceof Error) || cause instanceof GraphQLError;
  if (typeof code === 'string' && GRAPHQL_CODES.has(code) && fromGraphQL) {
    const limit = /limit of \d+ exceeded|more tha[nt] \d+ tokens/i.test(formatted.message);
    return {
      message: limit ? `${formatted.message.replace(/^Syntax Error: /, '').replace('more that', 'more than')} Split the operation or ask for fewer fields.` : formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: limit ? ErrorCode.QUERY_TOO_COMPLEX : code },
    };
  }
  const errorId = Math.random().toString(36).slice(2, 10);
  log({ level: 'error', msg: 'unexpected error', errorId, error: describe(cause) });
  return {
    message: `Internal error (id ${errorId}). Retry later; if it persists, report the id.`,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL, errorId },
  };
}

export function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { value: String(error) };
}
