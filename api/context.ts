import type DataLoader from 'dataloader';
import { scopeOf, type Principal } from '../auth/principal.ts';
import type { Config } from '../config/config.ts';
import type { WatermarkRegistry } from '../events/watermark-registry.ts';
import { newStats, type LoadStats, type PieceLoaderFactory, type PieceResult } from '../pipeline/piece-loader.ts';
import type { ResourceDirectory } from '../pipeline/resource-directory.ts';
import type { Piece } from '../planner/pieces.ts';
import type { TenantScope } from '../planner/query.ts';
import type { MetricStore } from '../store/metric-store.ts';

/** Long-lived services every request reads. */
export interface Services {
  readonly config: Config;
  readonly store: MetricStore;
  readonly watermarks: WatermarkRegistry;
  readonly resources: ResourceDirectory;
  readonly loaders: PieceLoaderFactory;
  readonly clock: () => number;
}

/** Per-operation state: built fresh for every request, never shared. */
export interface RequestContext {
  readonly principal: Principal;
  readonly scope: TenantScope;
  readonly now: number;
  readonly signal: AbortSignal;
  readonly stats: LoadStats;
  readonly pieces: DataLoader<Piece, PieceResult, string>;
  readonly services: Services;
  timeseriesFields: number;
}

/** A fresh context for one operation of a verified principal. */
export function requestContext(services: Services, principal: Principal, signal: AbortSignal): RequestContext {
  const stats = newStats();
  return {
    principal,
    scope: scopeOf(principal),
    now: services.clock(),
    signal,
    stats,
    pieces: services.loaders.create(principal.role, signal, stats),
    services,
    timeseriesFields: 0,
  };
}
