import { findMetric, METRICS, type Aggregation, type GroupKey, type MetricDefinition } from '../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { parseInterval } from '../planner/interval.ts';
import { hash } from '../planner/pieces.ts';
import type { CanonicalQuery, Filter, FilterOp, GranularityName, OrderBy, TenantScope } from '../planner/query.ts';
import type { Limits } from '../config/config.ts';

/** The GraphQL input, as resolvers receive it. */
export interface FilterInput {
  readonly field?: string | null;
  readonly op?: FilterOp | null;
  readonly value?: string | null;
  readonly values?: readonly string[] | null;
  readonly and?: readonly FilterInput[] | null;
  readonly or?: readonly FilterInput[] | null;
  readonly not?: FilterInput | null;
}

export interface TimeseriesArgs {
  readonly metric: string;
  readonly aggregation?: Aggregation | null;
  readonly granularity: GranularityName;
  readonly interval: string;
  readonly filter?: FilterInput | null;
  readonly groupBy?: readonly string[] | null;
  readonly orderBy?: Partial<OrderBy> | null;
  readonly limit?: number | null;
  readonly after?: string | null;
}

/** Turns validated arguments into the one canonical form plans and cache keys use. */
export function normalize(args: TimeseriesArgs, scope: TenantScope, now: number, limits: Limits): CanonicalQuery {
  const metric = findMetric(args.metric);
  if (!metric) {
    throw new StrataError(
      ErrorCode.UNKNOWN_METRIC,
      `Unknown metric "${args.metric}". Query \`metrics\` for the list, e.g. "${METRICS[0]?.name}".`,
      { metric: args.metric },
    );
  }
  const groupBy = [...new Set((args.groupBy ?? []).map((g) => checkKey(g, metric, 'groupBy')))].sort();
  if (groupBy.length > 6) throw new StrataError(ErrorCode.BAD_REQUEST, `groupBy has ${groupBy.length} labels; at most 6.`);
  const limit = args.limit ?? limits.defaultSeriesLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.maxSeriesLimit) {
    throw new StrataError(
      ErrorCode.LIMIT_OUT_OF_RANGE,
      `limit ${limit} is out of range: use 1 to ${limits.maxSeriesLimit} (series per page; page on with \`after\`).`,
      { limit, max: limits.maxSeriesLimit },
    );
  }
  const counter = { nodes: 0 };
  const filter = args.filter ? normalizeFilter(args.filter, metric, 1, counter, limits) : undefined;
  const query: CanonicalQuery = {
    scope,
    metric,
    aggregation: args.aggregation ?? metric.defaultAggregation,
    granularity: args.granularity,
    interval: boundedInterval(args.interval, now, limits),
    filter,
    groupBy,
    orderBy: { by: args.orderBy?.by ?? 'LABELS', direction: args.orderBy?.direction ?? (args.orderBy?.by === 'VALUE' ? 'DESC' : 'ASC') },
    limit,
    offset: 0,
  };
  return { ...query, offset: args.after ? decodeCursor(args.after, query) : 0 };
}

/**
 * An interval may end at most `maxFutureMs` past `now`: enough for the
 * current minute, "today" (`now|d/P1D`) and Grafana's "now/d" ranges, while
 * an end thousands of weeks away (which would cost one store chunk per day of
 * it) is refused before any work.
 */
function boundedInterval(text: string, now: number, limits: Limits): CanonicalQuery['interval'] {
  const interval = parseInterval(text, now);
  if (interval.end - now > limits.maxFutureMs) {
    const hours = limits.maxFutureMs / 3_600_000;
    throw new StrataError(
      ErrorCode.RANGE_IN_FUTURE,
      `The interval "${text}" ends ${new Date(interval.end).toISOString()}, more than ${hours} h after now (${new Date(now).toISOString()}). End it at most ${hours} h from now; there is no data in the future.`,
      { interval: text, maxFutureHours: hours },
    );
  }
  return interval;
}

function checkKey(key: string, metric: MetricDefinition, where: string): GroupKey {
  if (key === 'resource_id' || (metric.labels as readonly string[]).includes(key)) return key as GroupKey;
  const allowed = ['resource_id', ...metric.labels].join(', ');
  throw new StrataError(ErrorCode.UNKNOWN_LABEL, `Label "${key}" in ${where} is not a label of ${metric.name}; use one of: ${allowed}.`, {
    label: key,
  });
}

function normalizeFilter(input: FilterInput, metric: MetricDefinition, depth: number, counter: { nodes: number }, limits: Limits): Filter {
  counter.nodes += 1;
  if (depth > limits.maxFilterDepth || counter.nodes > limits.maxFilterNodes) {
    throw new StrataError(
      ErrorCode.INVALID_FILTER,
      `The filter is too large: at most ${limits.maxFilterNodes} nodes and depth ${limits.maxFilterDepth}. Use IN for many values.`,
    );
  }
  const kinds = [input.field != null || input.op != null, input.and != null, input.or != null, input.not != null].filter(Boolean).length;
  if (kinds !== 1) throw new StrataError(ErrorCode.INVALID_FILTER, 'Each filter node needs exactly one of: field+op, and, or, not.');
  if (input.not) {
    const inner = normalizeFilter(input.not, metric, depth + 1, counter, limits);
    return inner.kind === 'not' ? inner.filter : { kind: 'not', filter: inner };
  }
  const list = input.and ?? input.or;
  if (list) {
    const kind = input.and ? 'and' : 'or';
    if (list.length === 0) throw new StrataError(ErrorCode.INVALID_FILTER, `"${kind}" needs at least one filter.`);
    const children = list
      .map((f) => normalizeFilter(f, metric, depth + 1, counter, limits))
      .flatMap((f) => (f.kind === kind ? f.filters : [f]));
    const unique = [...new Map(children.map((c) => [JSON.stringify(c), c])).entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, c]) => c);
    return unique.length === 1 && unique[0] ? unique[0] : { kind, filters: unique };
  }
  return fieldFilter(input, metric, limits);
}

function fieldFilter(input: FilterInput, metric: MetricDefinition, limits: Limits): Filter {
  if (!input.field || !input.op) throw new StrataError(ErrorCode.INVALID_FILTER, 'A field filter needs both "field" and "op".');
  const field = checkKey(input.field, metric, 'filter');
  const values = [...new Set([...(input.values ?? []), ...(input.value != null ? [input.value] : [])])].sort();
  if (values.length === 0) throw new StrataError(ErrorCode.INVALID_FILTER, `Filter on "${field}" needs a "value" (or "values" for IN).`);
  if (values.some((v) => v.length > 256))
    throw new StrataError(ErrorCode.INVALID_FILTER, `A filter value on "${field}" is longer than 256 characters.`);
  if (input.op === 'IN') {
    if (values.length > limits.maxInValues)
      throw new StrataError(ErrorCode.INVALID_FILTER, `IN on "${field}" has ${values.length} values; at most ${limits.maxInValues}.`);
    return values.length === 1 ? { kind: 'field', field, op: 'EQ', values } : { kind: 'field', field, op: 'IN', values };
  }
  if (values.length !== 1)
    throw new StrataError(ErrorCode.INVALID_FILTER, `${input.op} on "${field}" takes one value; use IN for several.`);
  return { kind: 'field', field, op: input.op, values };
}

/** A cursor is bound to the query it came from, so it cannot page another query. */
function queryHash(q: CanonicalQuery): string {
  return hash([q.scope, q.metric.name, q.aggregation, q.granularity, q.interval, q.filter ?? null, q.groupBy, q.orderBy]);
}

export function encodeCursor(q: CanonicalQuery, offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset, h: queryHash(q) })).toString('base64url');
}

function decodeCursor(cursor: string, q: CanonicalQuery): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const c = parsed as { o?: unknown; h?: unknown } | undefined;
  if (!c || typeof c.o !== 'number' || !Number.isInteger(c.o) || c.o < 0 || c.h !== queryHash(q)) {
    throw new StrataError(
      ErrorCode.INVALID_CURSOR,
      'The cursor in "after" does not belong to this query. Send the same query (with an absolute interval) and the endCursor it returned.',
    );
  }
  return c.o;
}
