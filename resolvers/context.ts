import type DataLoader from 'dataloader';
import { callerKey, scopeOf, type Reader } from '../auth/principal.ts';
import type { Limits } from '../config/config.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { WatermarkRegistry } from '../events/watermark-registry.ts';
import { newStats, type LoadStats, type PieceLoaderFactory, type PieceResult } from '../pipeline/piece-loader.ts';
import type { ResourceDirectory } from '../pipeline/resource-directory.ts';
import type { Piece } from '../planner/pieces.ts';
import { newBudget, type OperationBudget } from '../pipeline/operation-budget.ts';
import type { TimeseriesContext } from '../pipeline/timeseries-pipeline.ts';
import type { TenantScope } from '../planner/query.ts';
import type { MetricStore } from '../store/metric-store.ts';

/** Long-lived services every request reads. */
export interface Services {
  /** The request limits (not the whole Config, which also holds the token keys). */
  readonly limits: Limits;
  /** The metrics and rollups served. */
  readonly catalog: Catalog;
  readonly store: MetricStore;
  readonly watermarks: WatermarkRegistry;
  readonly resources: ResourceDirectory;
  readonly loaders: PieceLoaderFactory;
  readonly clock: () => number;
  /** How late telemetry may arrive (STRATA_OTLP_MAX_LATENESS): a billing day turns FINAL only this long after its end. */
  readonly latenessMs: number;
}

/** Per-operation state: built fresh for every request, never shared. */
export interface RequestContext {
  readonly principal: Reader;
  readonly scope: TenantScope;
  readonly now: number;
  readonly signal: AbortSignal;
  readonly stats: LoadStats;
  readonly pieces: DataLoader<Piece, PieceResult, string>;
  readonly services: Services;
  /** The operation's estimated cost across its fields (pipeline/operation-budget.ts). */
  readonly budget: OperationBudget;
  timeseriesFields: number;
}

/** A fresh context for one operation of a verified principal. */
export function requestContext(services: Services, principal: Reader, signal: AbortSignal): RequestContext {
  const stats = newStats();
  return {
    principal,
    scope: scopeOf(principal),
    now: services.clock(),
    signal,
    stats,
    pieces: services.loaders.create({ lane: principal.role, key: callerKey(principal) }, signal, stats),
    services,
    budget: newBudget(),
    timeseriesFields: 0,
  };
}

/** What the timeseries pipeline needs of one operation's context (resolvers and /export alike). */
export function timeseriesContext(ctx: RequestContext): TimeseriesContext {
  const { services } = ctx;
  return {
    scope: ctx.scope,
    now: ctx.now,
    limits: services.limits,
    plannerState: () => ({ now: ctx.now, watermarks: services.watermarks.snapshot(), rollups: services.catalog.rollups }),
    resources: services.resources,
    pieces: ctx.pieces,
    stats: ctx.stats,
    budget: ctx.budget,
  };
}
