import { GraphQLScalarType, Kind } from 'graphql';
import { METRICS, usageRollup } from '../catalog/catalog.ts';
import { timeseriesContext, type RequestContext } from './context.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { Role } from '../auth/principal.ts';
import { isoOf } from '../planner/interval.ts';
import { runTimeseries, type TimeseriesResult } from '../pipeline/timeseries-pipeline.ts';
import type { TimeseriesArgs } from '../pipeline/normalize.ts';
import type { Series } from '../pipeline/merge.ts';
import { runUsage, type UsageArgs } from '../pipeline/usage-pipeline.ts';
import { aggregationLanded } from './aggregation-landed.ts';

/** Thin resolvers: arguments in, domain call, result out. */

const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  // Replaces the SDL's scalar, description included: keep this text equal to schema/schema.graphql's
  // (test/schema-sdl.test.ts compares them).
  description: 'An integer of any size, encoded as a decimal string (exact: never a float).',
  serialize: (value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw new TypeError('BigInt fields must resolve to a bigint');
  },
  parseValue: (value) => {
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
    throw new TypeError('BigInt takes a decimal string');
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING && /^-?\d+$/.test(ast.value)) return BigInt(ast.value);
    throw new TypeError('BigInt takes a decimal string');
  },
});

function requireRole(ctx: RequestContext, roles: readonly Role[], what: string): void {
  if (!roles.includes(ctx.principal.role)) {
    throw new StrataError(ErrorCode.FORBIDDEN, `The ${ctx.principal.role} role cannot read ${what}; it is for: ${roles.join(', ')}.`);
  }
}

interface TimeseriesInput extends TimeseriesArgs {
  readonly source?: 'AUTO' | 'RAW' | null;
}

async function timeseries(_: unknown, args: { query: TimeseriesInput }, ctx: RequestContext): Promise<TimeseriesResult> {
  requireRole(ctx, ['customer', 'internal'], 'timeseries');
  const { limits } = ctx.services;
  ctx.timeseriesFields += 1;
  if (ctx.timeseriesFields > limits.maxTimeseriesFields) {
    throw new StrataError(
      ErrorCode.QUERY_TOO_COMPLEX,
      `An operation may hold at most ${limits.maxTimeseriesFields} timeseries fields; split it into several operations.`,
    );
  }
  const forceRaw = args.query.source === 'RAW';
  if (forceRaw) requireRole(ctx, ['internal'], 'timeseries with source RAW');
  return runTimeseries(args.query, timeseriesContext(ctx), { forceRaw });
}

export const resolvers = {
  BigInt: BigIntScalar,
  Query: {
    metrics: () => METRICS,
    resources: (_: unknown, __: unknown, ctx: RequestContext) => {
      requireRole(ctx, ['customer', 'internal', 'billing'], 'resources');
      return ctx.services.resources
        .list(ctx.scope.kind === 'tenant' ? ctx.scope.tenantId : undefined)
        .map((r) => ({ id: r.resourceId, tenantId: r.tenantId }));
    },
    timeseries,
    usage: (_: unknown, args: UsageArgs, ctx: RequestContext) => {
      requireRole(ctx, ['billing', 'internal'], 'usage');
      return runUsage(args, {
        scope: ctx.scope,
        now: ctx.now,
        store: ctx.services.store,
        usageWatermark: ctx.services.watermarks.snapshot()[usageRollup(ctx.services.catalog).name] ?? 0,
        latenessMs: ctx.services.latenessMs,
        signal: ctx.signal,
      });
    },
  },
  Subscription: { aggregationLanded },
  Point: { timestamp: (p: { timestamp: number }) => timestampText(p.timestamp) },
  Series: {
    timestamps: (s: Series) => s.points.map((p) => timestampText(p.timestamp)),
    values: (s: Series) => s.points.map((p) => p.value),
  },
  QueryPlan: { operation: (p: TimeseriesResult['plan']) => p.stats },
};

/**
 * Series of one answer share their timestamps (30 days hourly by 6 topics:
 * 720 distinct in 4,320 points), and dashboards ask for the same buckets again
 * and again: each is formatted once. Cleared, not evicted, when full: a
 * pure function's memo needs no recency order.
 */
const TIMESTAMP_TEXT = new Map<number, string>();
const TIMESTAMP_TEXT_MAX = 50_000;

function timestampText(ms: number): string {
  let text = TIMESTAMP_TEXT.get(ms);
  if (text === undefined) {
    if (TIMESTAMP_TEXT.size >= TIMESTAMP_TEXT_MAX) TIMESTAMP_TEXT.clear();
    text = isoOf(ms);
    TIMESTAMP_TEXT.set(ms, text);
  }
  return text;
}
