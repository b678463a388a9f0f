import { join } from 'node:path';
import type { LoadRequest, LoadResult } from '../load-generator.ts';
import { controlUrl, getJson, post, runLoad, startBenchServer, type Child } from '../lib/children.ts';
import { dashboardBody, RANGES } from '../lib/dashboards.ts';
import { jsonHeaders, seed, twinOf, token } from '../lib/dataset.ts';
import { numbered, type ChartData, type ScenarioOptions, type ScenarioReport } from '../lib/report.ts';
import { fixed, zipfWeights } from '../lib/stats.ts';
import type { ReadStats } from '../../store/duckdb/read-connections.ts';
import { BENCH_EDGE_ENV } from './cached-query.ts';

export const TENANTS = 20;
export const EVENT_EVERY_MS = 5000;

export interface ServerStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** V8's resident pages (total_physical_size). */
  readonly heapPhysical: number;
  /** RssAnon: RSS without file-backed pages. */
  readonly rssAnon: number;
  /** Bytes held by the piece cache (when in memory) and by the response cache, as they count them against their bounds. */
  readonly cacheBytes: number;
  readonly responseCacheBytes: number;
  readonly external: number;
  readonly duckdb: number;
  readonly responses: {
    hits: number;
    misses: number;
    bypassed: number;
    invalidated: number;
    missesWithoutStore: number;
    storeQueries: number;
  };
  readonly loaders: { storeQueries: number; cacheHits: number; cacheMisses: number };
  readonly listener: { applied: number };
  readonly injected: number;
  /** The embedded store's read connections: open between reads, ever opened, reads waiting for one; statements held and ever prepared. */
  readonly reads: ReadStats;
  /** Checkpoints after the injector's rollup rebuilds: done, refused because another write ran. */
  readonly checkpoints: { done: number; skipped: number };
  /** Batched store queries that failed (strata_store_query_failures_total). */
  readonly storeFailures: number;
}

/** A fresh dataset ending now (the windows slide with the real clock): 20 tenants, one cluster each, 8 days. */
export function dashboardDataset(dir: string, name: string): string {
  const file = join(dir, name);
  const end = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
  seed(file, { seed: 5, tenants: TENANTS, clusters: 1, topics: 2, partitions: 1, days: 8, end });
  return file;
}

/** The bench server's environment; `responseCacheTtl` undefined keeps Strata's default. */
export function serverEnv(responseCacheTtl: string | undefined): Record<string, string> {
  return {
    ...BENCH_EDGE_ENV,
    STRATA_LOG_LEVEL: 'warn',
    STRATA_AGGREGATE_EVERY: '0',
    ...(responseCacheTtl ? { STRATA_RESPONSE_CACHE_TTL: responseCacheTtl } : {}),
    BENCH_EVENT_EVERY_MS: String(EVENT_EVERY_MS),
  };
}

/** Zipf-popular tenants (s = 1.1) times the share of each time range: one weighted request per (tenant, range). */
export async function dashboardRequests(server: Child): Promise<LoadRequest[]> {
  const list = await post(server.url, token('internal'), JSON.stringify({ query: '{ resources { id tenantId } }' }));
  const resources = (JSON.parse(list.text) as { data: { resources: { id: string; tenantId: string }[] } }).data.resources;
  const byTenant = [...resources].sort((a, b) => Number(a.tenantId.slice(2)) - Number(b.tenantId.slice(2)));
  const weights = zipfWeights(byTenant.length, 1.1);
  return byTenant.flatMap((r, k) => {
    const headers = jsonHeaders(token('customer', r.tenantId));
    return RANGES.map((range) => ({ body: dashboardBody(r.id, range), headers, weight: (weights[k] ?? 0) * range.weight }));
  });
}

export interface Round {
  readonly load: LoadResult;
  readonly before: ServerStats;
  readonly after: ServerStats;
}

export async function measuredRound(server: Child, requests: LoadRequest[], durationS: number, seedN: number): Promise<Round> {
  const stats = `${controlUrl(server)}/stats`;
  const before = await getJson<ServerStats>(stats);
  const load = await runLoad({ url: `${server.url}/graphql`, connections: 10, durationS, seed: seedN, requests });
  return { load, before, after: await getJson<ServerStats>(stats) };
}

/** Figures of several rounds of one server, from the server's own counters. */
export function figuresOf(rounds: Round[]): {
  requests: number;
  served: number;
  responseHits: number;
  perThousand: number;
  pieceHits: number;
  events: number;
  p50: number;
  p99: number;
  rps: number;
} {
  let requests = 0,
    hits = 0,
    withoutStore = 0,
    storeQueries = 0,
    pieceHits = 0,
    pieceMisses = 0,
    events = 0;
  for (const { before: b, after: a } of rounds) {
    const d = (f: (s: ServerStats) => number): number => f(a) - f(b);
    const n = d((s) => s.responses.hits + s.responses.misses + s.responses.bypassed);
    requests += n;
    hits += d((s) => s.responses.hits);
    withoutStore += d((s) => s.responses.hits + s.responses.missesWithoutStore);
    storeQueries += d((s) => s.loaders.storeQueries);
    pieceHits += d((s) => s.loaders.cacheHits);
    pieceMisses += d((s) => s.loaders.cacheMisses);
    events += d((s) => s.listener.applied);
  }
  const worst = (f: (r: LoadResult) => number): number => Math.max(...rounds.map((r) => f(r.load)));
  return {
    requests,
    served: withoutStore / requests,
    responseHits: hits / requests,
    perThousand: (1000 * storeQueries) / requests,
    pieceHits: pieceHits / Math.max(1, pieceHits + pieceMisses),
    events,
    p50: worst((r) => r.p50),
    p99: worst((r) => r.p99),
    rps: rounds.reduce((n, r) => n + r.load.rps, 0) / rounds.length,
  };
}

/**
 * Scenario 2: Zipf-popular tenants refresh 12-panel dashboards on sliding
 * windows (real clock) while late data is republished every 5 s. Two servers
 * on copies of one dataset, response cache on and off, measured in
 * alternating rounds.
 */
export async function dashboardReplay(o: ScenarioOptions): Promise<ScenarioReport> {
  const fileA = dashboardDataset(o.dir, 'dash-a.duckdb');
  const fileB = twinOf(fileA, join(o.dir, 'dash-b.duckdb'));
  const on = await startBenchServer(fileA, serverEnv(undefined));
  const off = await startBenchServer(fileB, serverEnv('0'));
  try {
    const requests = await dashboardRequests(on);
    await runLoad({ url: `${on.url}/graphql`, connections: 10, durationS: 3, seed: 9, requests });
    await runLoad({ url: `${off.url}/graphql`, connections: 10, durationS: 3, seed: 9, requests });
    const roundsOn: Round[] = [];
    const roundsOff: Round[] = [];
    for (let i = 0; i < 2; i++) {
      roundsOn.push(await measuredRound(on, requests, o.roundS, 100 + i));
      roundsOff.push(await measuredRound(off, requests, o.roundS, 100 + i));
    }
    return { ...report(figuresOf(roundsOn), figuresOf(roundsOff), requests.length), charts: charts(roundsOn, roundsOff) };
  } finally {
    await on.stop();
    await off.stop();
  }
}

function report(on: ReturnType<typeof figuresOf>, off: ReturnType<typeof figuresOf>, distinct: number): ScenarioReport {
  const pct = (x: number): string => `${fixed(100 * x, 1)} %`;
  return {
    id: 2,
    title: 'Dashboard replay: Zipf tenants, sliding windows, events meanwhile',
    target: 'requests answered without a store query ≥ 95 %, ≤ 50 store queries per 1000 requests',
    met: on.served >= 0.95 && on.perThousand <= 50,
    figures: [
      ['', 'response cache on (default, 5 s) | off (STRATA_RESPONSE_CACHE_TTL=0)'],
      ['requests measured (server counters)', `${on.requests} | ${off.requests}`],
      ['req/s (mean of rounds)', `${fixed(on.rps, 0)} | ${fixed(off.rps, 0)}`],
      ['answered without a store query', `${pct(on.served)} | ${pct(off.served)}`],
      ['response-cache hits', `${pct(on.responseHits)} | –`],
      ['store queries per 1000 requests', `${fixed(on.perThousand, 1)} | ${fixed(off.perThousand, 1)}`],
      ['piece-cache hit ratio (of executed operations)', `${pct(on.pieceHits)} | ${pct(off.pieceHits)}`],
      ['p50 / p99 ms (worst round)', `${fixed(on.p50)} / ${fixed(on.p99)} | ${fixed(off.p50)} / ${fixed(off.p99)}`],
      ['aggregation events applied while measuring', `${on.events} | ${off.events}`],
    ],
    notes: [
      `${TENANTS} tenants (Zipf s = 1.1), ${distinct} distinct dashboard refreshes (tenant × range: 1h PT1M 40 %, 6h PT5M 30 %, 24h PT1H 20 %, 7d PT6H 10 %), 12 panels each, 10 connections.`,
      `Real clock: the windows slide; every ${EVENT_EVERY_MS / 1000} s late data of one tenant lands in a closed hour of the last 20, the hour's rollup is rebuilt and an event naming that tenant is published.`,
      'Rounds alternate between the two servers; both run the same injector on copies of the same data.',
    ],
  };
}

/** Each round's figures, one bar per server: what the means and totals of the report are made of. */
function charts(on: Round[], off: Round[]): ChartData[] {
  const round = { label: 'measured round', unit: '' };
  const both = (f: (x: ReturnType<typeof figuresOf>) => number, unit: string) => [
    { name: 'response cache on (default)', unit, points: numbered(on.map((r) => f(figuresOf([r])))) },
    { name: 'response cache off', unit, points: numbered(off.map((r) => f(figuresOf([r])))) },
  ];
  return [
    {
      id: 'scenario-2-served',
      title: '2. Dashboard replay: requests answered without a store query',
      kind: 'bar',
      x: round,
      y: { label: 'share', unit: '%' },
      series: both((x) => 100 * x.served, '%'),
      target: { value: 95, label: 'target ≥ 95 %' },
    },
    {
      id: 'scenario-2-store-queries',
      title: '2. Dashboard replay: store queries per 1000 requests',
      kind: 'bar',
      x: round,
      y: { label: 'store queries', unit: 'per 1000 requests' },
      series: both((x) => x.perThousand, 'per 1000'),
      target: { value: 50, label: 'target ≤ 50' },
    },
    {
      id: 'scenario-2-throughput',
      title: '2. Dashboard replay: req/s of each round',
      kind: 'bar',
      x: round,
      y: { label: 'throughput', unit: 'req/s' },
      series: both((x) => x.rps, 'req/s'),
    },
  ];
}
