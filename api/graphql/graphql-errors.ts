import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode, isStrataError } from '../../errors/strata-error.ts';

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
      message: limit
        ? `${formatted.message.replace(/^Syntax Error: /, '').replace('more that', 'more than')} Split the operation or ask for fewer fields.`
        : formatted.message,
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
