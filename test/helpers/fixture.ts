import { createApp, type App } from '../../api/app.ts';
import { isStrataError } from '../../errors/strata-error.ts';
import { CATALOG, type Catalog } from '../../catalog/catalog.ts';
import { requestContext, timeseriesContext } from '../../resolvers/context.ts';
import { asReader, principalFor, type Reader } from '../../auth/principal.ts';
import { loadConfig, type Env } from '../../config/config.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { SeedOptions } from '../../store/duckdb/seed-dataset.ts';
import { seededCopy } from './seeded-copy.ts';
import type { TimeseriesArgs } from '../../pipeline/normalize.ts';
import { runTimeseries, type TimeseriesResult } from '../../pipeline/timeseries-pipeline.ts';

/** A small dataset: 3 tenants x 2 clusters, 3 days to END (rollups lag the end by 2 hours). */
export const END = Date.parse('2026-11-20T00:00:00Z');
export const SMALL: SeedOptions = { seed: 7, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: END };
/** The fuzz suite's smaller dataset (its answers matter less than their errors): 2 tenants x 2 clusters, 2 days. */
export const FUZZ_DATASET: SeedOptions = { seed: 3, tenants: 2, clusters: 2, topics: 2, partitions: 2, days: 2, end: END };

/** An in-memory store seeded with `options`, its rollups (those of `catalog`) built up to the seed's watermarks. */
export async function seededStore(options: SeedOptions = SMALL, catalog: Catalog = CATALOG): Promise<DuckDbStore> {
  return seededCopy(options, catalog);
}

/** The whole service in-process (no HTTP): real planner, store, cache and bus, on the store's catalog. */
export async function testApp(store: DuckDbStore, env: Partial<Record<keyof Env, string>> = {}): Promise<App> {
  const config = loadConfig({}, { STRATA_ENV: 'test', STRATA_NOW: new Date(END).toISOString(), STRATA_LOG_LEVEL: 'silent', ...env });
  return createApp(config, { store, catalog: store.catalog });
}

export function principal(role: Reader['role'], tenantId?: string): Reader {
  return asReader(principalFor(role, `test:${role}:${tenantId ?? 'all'}`, tenantId));
}

export interface GqlResult {
  readonly data: Record<string, unknown> | null | undefined;
  readonly errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined;
}

/** Runs one operation as `who`, with a fresh request context (as the HTTP edge does). */
export async function execute(app: App, who: Reader, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult> {
  const contextValue = requestContext(app.services, who, new AbortController().signal);
  const response = await app.apollo.executeOperation({ query, variables }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
  const { data, errors } = response.body.singleResult;
  return { data: data as Record<string, unknown> | null | undefined, errors: errors as GqlResult['errors'] };
}

export const TIMESERIES_FIELDS = `series { labels { key value } points { timestamp value } }
  pageInfo { hasNextPage endCursor totalSeries }
  plan { fragments { source interval level reason pieces cacheHits } operation { storeQueries cacheHits cacheMisses } }`;

/** Calls the query path directly (bypassing GraphQL), e.g. to force raw for any role. */
export async function runDirect(app: App, who: Reader, args: TimeseriesArgs, forceRaw = false): Promise<TimeseriesResult> {
  const ctx = requestContext(app.services, who, new AbortController().signal);
  return runTimeseries(args, timeseriesContext(ctx), { forceRaw });
}

export type Outcome = { ok: true; result: TimeseriesResult } | { ok: false; code: string };

/** A query's result, or the stable code it was rejected with (other errors propagate). */
export async function outcome(run: () => Promise<TimeseriesResult>): Promise<Outcome> {
  try {
    return { ok: true, result: await run() };
  } catch (error) {
    if (isStrataError(error)) return { ok: false, code: error.code };
    throw error;
  }
}
