import { DAY_MS } from '../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { alignDown, alignUp, isoOf, parseInterval } from '../planner/interval.ts';
import { hash } from '../planner/pieces.ts';
import type { TenantScope } from '../planner/query.ts';
import type { MetricStore, UsageRow } from '../store/metric-store.ts';

export interface UsageArgs {
  readonly period: string;
  readonly tenantId?: string | null;
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface UsageContext {
  readonly scope: TenantScope;
  readonly now: number;
  readonly store: MetricStore;
  /** How far the daily rollup billing reads is complete: days before it come from it, the rest from raw. */
  readonly usageWatermark: number;
  /** How late telemetry may still arrive (STRATA_OTLP_MAX_LATENESS): until this long after its end, a day may change. */
  readonly latenessMs: number;
  readonly signal: AbortSignal | undefined;
}

export interface UsageRecord {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly day: string;
  readonly ingressBytes: bigint;
  readonly egressBytes: bigint;
  readonly storageByteHours: bigint;
  readonly partitionHours: bigint;
  readonly status: 'FINAL' | 'PROVISIONAL';
}

export interface UsagePage {
  readonly rows: UsageRecord[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
}

const MAX_DAYS = 400;
const MAX_FIRST = 1000;

/**
 * Billing usage per tenant, cluster and UTC day, each day FINAL or
 * PROVISIONAL (`isFinal`). Pages are keyed by (day, tenant, cluster), so a
 * page boundary never moves under a client.
 */
export async function runUsage(args: UsageArgs, ctx: UsageContext): Promise<UsagePage> {
  const parsed = parseInterval(args.period, ctx.now);
  const interval = { start: alignDown(parsed.start, DAY_MS), end: alignUp(parsed.end, DAY_MS) };
  const days = (interval.end - interval.start) / DAY_MS;
  if (days > MAX_DAYS)
    throw new StrataError(ErrorCode.RANGE_TOO_LARGE, `The period covers ${days} days; at most ${MAX_DAYS}. Ask for shorter periods.`);
  const first = args.first ?? 100;
  if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
    throw new StrataError(ErrorCode.LIMIT_OUT_OF_RANGE, `first ${first} is out of range: use 1 to ${MAX_FIRST}.`);
  }
  const scope = narrowed(ctx.scope, args.tenantId);
  const rows = await ctx.store.usage({
    scope,
    interval,
    rollupUntil: ctx.usageWatermark,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const queryKey = hash([scope, interval]);
  const startAt = args.after ? positionAfter(rows, args.after, queryKey) : 0;
  const page = rows.slice(startAt, startAt + first);
  const last = page[page.length - 1];
  const hasNextPage = startAt + first < rows.length;
  return {
    rows: page.map((r) => toRecord(r, isFinal(r.day, ctx))),
    pageInfo: { hasNextPage, endCursor: last ? Buffer.from(JSON.stringify({ k: rowKey(last), h: queryKey })).toString('base64url') : null },
  };
}

/**
 * `tenantId` narrows the token's scope and never replaces it: the
 * all-tenants scope narrows to that tenant, a tenant scope stays itself,
 * and naming another tenant from a tenant scope is refused.
 */
function narrowed(scope: TenantScope, tenantId: string | null | undefined): TenantScope {
  if (!tenantId) return scope;
  if (scope.kind === 'all') return { kind: 'tenant', tenantId };
  if (scope.tenantId === tenantId) return scope;
  throw new StrataError(
    ErrorCode.FORBIDDEN,
    `This token reads the usage of tenant ${scope.tenantId} only; drop tenantId or ask for ${scope.tenantId}.`,
  );
}

const rowKey = (r: UsageRow): string => `${r.day}|${r.tenantId}|${r.resourceId}`;

function positionAfter(rows: readonly UsageRow[], cursor: string, queryKey: string): number {
  let parsed: { k?: unknown; h?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown; h?: unknown };
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed.k !== 'string' || parsed.h !== queryKey) {
    throw new StrataError(
      ErrorCode.INVALID_CURSOR,
      'The cursor in "after" does not belong to this usage query; send the same period and tenantId with the endCursor it returned.',
    );
  }
  const key = parsed.k;
  const index = rows.findIndex((r) => rowKey(r) > key);
  return index === -1 ? rows.length : index;
}

/** Byte-hours from byte-minutes, rounded half up, in exact integer arithmetic. */
const perHour = (minutes: bigint): bigint => (minutes + 30n) / 60n;

/**
 * A day is FINAL once no more data may arrive for it and its figures are the
 * daily rollup's: now is at least its end plus the lateness window (the
 * receiver refuses points older than now minus it), and the daily rollup
 * billing reads covers the day. Before both, it is PROVISIONAL. The one gap
 * left: a late point accepted just before the window closed is in the
 * rollup only after the aggregator's next run rebuilds its day
 * (STRATA_AGGREGATE_EVERY); closing it needs the store to report the late
 * minutes still waiting for a rebuild, which it does not yet.
 */
export function isFinal(day: number, ctx: Pick<UsageContext, 'now' | 'usageWatermark' | 'latenessMs'>): boolean {
  const end = day + DAY_MS;
  return end + ctx.latenessMs <= ctx.now && end <= ctx.usageWatermark;
}

function toRecord(r: UsageRow, final: boolean): UsageRecord {
  return {
    tenantId: r.tenantId,
    resourceId: r.resourceId,
    day: isoOf(r.day).slice(0, 10),
    ingressBytes: r.ingressBytes,
    egressBytes: r.egressBytes,
    storageByteHours: perHour(r.storageByteMinutes),
    partitionHours: perHour(r.partitionMinutes),
    status: final ? 'FINAL' : 'PROVISIONAL',
  };
}
