import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { Limits } from '../config/config.ts';
import type { Piece } from '../planner/pieces.ts';
import type { CanonicalQuery, Filter } from '../planner/query.ts';
import { topConjuncts } from '../planner/rules.ts';

/**
 * What one operation has asked for so far, across its fields. Every
 * timeseries field of an operation is planned in the same tick, before any
 * store query (pipeline/timeseries-pipeline.ts), so the estimate refuses an
 * operation that is too costly before it does any work: a hostile tenant
 * cannot buy seconds of CPU with one request of many cheap-looking fields.
 */
export interface OperationBudget {
  pieces: number;
  rawMinutes: number;
  inValues: number;
  points: number;
}

export const newBudget = (): OperationBudget => ({ pieces: 0, rawMinutes: 0, inValues: 0, points: 0 });

const MINUTE_MS = 60_000;

/**
 * Charges one field's estimated cost, or refuses the field: its pieces
 * (store chunks), the raw minutes it scans times the clusters they cover,
 * and its IN values.
 * `clustersInScope` counts the clusters a query without a cluster filter reads.
 */
export function chargeField(
  budget: OperationBudget,
  query: CanonicalQuery,
  pieces: readonly Piece[],
  limits: Limits,
  clustersInScope: () => number,
): void {
  if (pieces.length > limits.maxPiecesPerField) {
    throw tooCostly(
      `This field needs ${pieces.length} store chunks (one per hour or day of its interval), over the limit of ${limits.maxPiecesPerField}`,
      'piecesPerField',
      limits.maxPiecesPerField,
    );
  }
  // Internal dashboards read across tenants by design: their raw budget is wider.
  const rawLimit = query.scope.kind === 'all' ? limits.maxRawMinutesInternal : limits.maxRawMinutesPerOperation;
  const clusters = clustersOf(query.filter, clustersInScope);
  const rawMinutes = pieces.reduce((n, p) => n + rawMinutesOf(p) * clusters, 0);
  const next = {
    pieces: budget.pieces + pieces.length,
    rawMinutes: budget.rawMinutes + rawMinutes,
    inValues: budget.inValues + inValuesOf(query.filter),
  };
  if (next.pieces > limits.maxPiecesPerOperation) {
    throw tooCostly(
      `The operation needs ${next.pieces} store chunks with this field, over the limit of ${limits.maxPiecesPerOperation}`,
      'piecesPerOperation',
      limits.maxPiecesPerOperation,
    );
  }
  if (next.rawMinutes > rawLimit) {
    throw tooCostly(
      `The operation scans ${Math.round(next.rawMinutes)} cluster-minutes of raw data with this field, over the limit of ${rawLimit}`,
      'rawMinutes',
      rawLimit,
    );
  }
  if (next.inValues > limits.maxInValuesPerOperation) {
    throw tooCostly(
      `The operation's filters hold ${next.inValues} IN values with this field, over the limit of ${limits.maxInValuesPerOperation}`,
      'inValuesPerOperation',
      limits.maxInValuesPerOperation,
    );
  }
  // A refused field costs nothing: the fields after it may still fit.
  Object.assign(budget, next);
}

/** Charges the points one field returns; past the operation's limit, that field fails. */
export function chargePoints(budget: OperationBudget, points: number, limits: Limits): void {
  const total = budget.points + points;
  if (total > limits.maxPointsPerOperation) {
    throw new StrataError(
      ErrorCode.POINTS_LIMIT_EXCEEDED,
      `The operation returns ${total} points with this field, over the limit of ${limits.maxPointsPerOperation} per operation. Split it, or use a coarser granularity or a lower limit.`,
      { points: total, limit: limits.maxPointsPerOperation },
    );
  }
  budget.points = total;
}

const tooCostly = (what: string, limit: string, value: number): StrataError =>
  new StrataError(
    ErrorCode.QUERY_TOO_COMPLEX,
    `${what}. Split the operation, shorten the intervals or use a coarser granularity (rollups cost no raw minutes).`,
    { limit, value },
  );

/** Minutes of raw data a piece scans (rollup pieces: none). */
const rawMinutesOf = (piece: Piece): number => (piece.source === 'raw' ? (piece.interval.end - piece.interval.start) / MINUTE_MS : 0);

/**
 * Pieces in order, cut into consecutive parts of at most `limit` raw
 * cluster-minutes each (a piece over the limit alone is a part of its own):
 * one store statement per part keeps what one statement holds in the
 * store's shared memory bounded, however much an operation asks for.
 */
export function partsByRawCost(pieces: readonly Piece[], limit: number, clustersInScope: () => number): Piece[][] {
  const parts: Piece[][] = [];
  let part: Piece[] = [];
  let cost = 0;
  // Pieces of one shape share a filter: its clusters are counted once.
  const clustersOfShape = new Map<string, number>();
  for (const piece of pieces) {
    let clusters = clustersOfShape.get(piece.shape);
    if (clusters === undefined) clustersOfShape.set(piece.shape, (clusters = clustersOf(piece.filter, clustersInScope)));
    const c = rawMinutesOf(piece) * clusters;
    if (part.length > 0 && cost + c > limit) {
      parts.push(part);
      part = [];
      cost = 0;
    }
    part.push(piece);
    cost += c;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/** The clusters a filter can match: the values of a top-level resource_id EQ/IN, else every cluster in scope. */
function clustersOf(filter: Filter | undefined, inScope: () => number): number {
  const named = topConjuncts(filter).flatMap((f) =>
    f.kind === 'field' && f.field === 'resource_id' && (f.op === 'EQ' || f.op === 'IN') ? [f.values.length] : [],
  );
  return named.length > 0 ? Math.min(...named) : Math.max(1, inScope());
}

function inValuesOf(filter: Filter | undefined): number {
  if (!filter) return 0;
  if (filter.kind === 'field') return filter.op === 'IN' ? filter.values.length : 0;
  if (filter.kind === 'not') return inValuesOf(filter.filter);
  return filter.filters.reduce((n, f) => n + inValuesOf(f), 0);
}
