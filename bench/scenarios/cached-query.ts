import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from '../load-generator.ts';
import { post, runLoad, startBaseline, startStrata, type Child } from '../lib/children.ts';
import { FIXED_END, jsonHeaders, seed, token } from '../lib/dataset.ts';
import { numbered, type ChartData, type ScenarioOptions, type ScenarioReport } from '../lib/report.ts';
import { fixed, median } from '../lib/stats.ts';

const M = 'io.confluent.kafka.server/';
/** Alternating pairs of rounds (S B, B S, ...): the figure is the median of the pairs' ratios. */
const PAIRS = 5;

/** The README's example operation: hourly bytes per topic over 24 hours for one cluster. */
export function timeseriesBody(cluster: string): string {
  const query = `{ timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-24h/now",
    filter: { field: "resource_id", op: EQ, value: "${cluster}" }, groupBy: ["topic"] }) {
    series { labels { key value } points { timestamp value } }
    pageInfo { hasNextPage endCursor totalSeries }
    plan { fragments { source interval reason cacheHits } } } }`;
  return JSON.stringify({ query });
}

export async function firstCluster(url: string, bearer: string): Promise<string> {
  const r = await post(url, bearer, JSON.stringify({ query: '{ resources { id } }' }));
  const id = (JSON.parse(r.text) as { data?: { resources?: { id: string }[] } }).data?.resources?.[0]?.id;
  if (!id) throw new Error(`no cluster: ${r.status} ${r.text}`);
  return id;
}

/**
 * One client sends thousands of requests a second from one token: the quotas
 * stay on (their cost is measured) but at their highest, so they never refuse.
 */
export const BENCH_EDGE_ENV: Record<string, string> = { STRATA_RATE_LIMIT: '1000000', STRATA_TOKEN_RATE_LIMIT: '1000000' };

/** A bench server on a data set ending at FIXED_END: the clock fixed there, warnings only, no aggregator runs after start. */
export const FIXED_CLOCK_ENV: Record<string, string> = {
  ...BENCH_EDGE_ENV,
  STRATA_NOW: FIXED_END,
  STRATA_LOG_LEVEL: 'warn',
  STRATA_AGGREGATE_EVERY: '0',
};

/**
 * Scenario 1: one cached timeseries operation at 10 connections against
 * `npm start`, alternating with a bare node:http server that answers the
 * same bytes. Rounds alternate (S B, B S, S B...) so both see the same noise.
 */
export async function cachedQuery(o: ScenarioOptions): Promise<ScenarioReport> {
  const db = join(o.dir, 'small.duckdb');
  seed(db, { seed: 11, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: FIXED_END });
  const strata = await startStrata(db, FIXED_CLOCK_ENV);
  let baseline: Child | undefined;
  try {
    const bearer = token('customer', 't-1');
    const body = timeseriesBody(await firstCluster(strata.url, bearer));
    await post(strata.url, bearer, body);
    const answer = await post(strata.url, bearer, body);
    const again = await post(strata.url, bearer, body);
    if (answer.status !== 200 || answer.text !== again.text || answer.text.includes('"errors"'))
      throw new Error(`unstable or failed answer: ${answer.text.slice(0, 300)}`);
    const file = join(o.dir, 'scenario1-response.json');
    writeFileSync(file, answer.text);
    baseline = await startBaseline(file);
    const spec = (url: string) => ({
      url: `${url}/graphql`,
      connections: 10,
      durationS: o.roundS,
      seed: 1,
      requests: [{ body, headers: jsonHeaders(bearer), weight: 1 }],
    });
    await runLoad({ ...spec(strata.url), durationS: 2 }); // warm-up (JIT), not measured
    await runLoad({ ...spec(baseline.url), durationS: 2 });
    const pairs: { s: LoadResult; b: LoadResult }[] = [];
    for (let round = 0; round < PAIRS; round++) {
      if (round % 2 === 0) {
        const s = await runLoad(spec(strata.url));
        pairs.push({ s, b: await runLoad(spec(baseline.url)) });
      } else {
        const b = await runLoad(spec(baseline.url));
        pairs.push({ b, s: await runLoad(spec(strata.url)) });
      }
    }
    return report(pairs, answer.text.length);
  } finally {
    await baseline?.stop();
    await strata.stop();
  }
}

function report(pairs: { s: LoadResult; b: LoadResult }[], bytes: number): ScenarioReport {
  const ratios = pairs.map(({ s, b }) => s.rps / b.rps);
  const ratio = median(ratios);
  const p50 = median(pairs.map(({ s }) => s.p50));
  const p99 = median(pairs.map(({ s }) => s.p99));
  const failures = pairs.reduce((n, { s }) => n + s.non2xx + s.errors, 0);
  return {
    id: 1,
    title: 'Cached query vs bare node:http',
    target: 'Strata req/s ÷ baseline req/s ≥ 0.25 and p99 < 10 ms',
    met: ratio >= 0.25 && p99 < 10 && failures === 0,
    figures: [
      [`req/s ratio (median of ${PAIRS} alternating pairs)`, `${fixed(ratio)} (pairs: ${ratios.map((r) => fixed(r)).join(', ')})`],
      ['Strata req/s per round', pairs.map(({ s }) => fixed(s.rps, 0)).join(', ')],
      ['baseline req/s per round', pairs.map(({ b }) => fixed(b.rps, 0)).join(', ')],
      ['Strata p50 / p99 (ms, median of rounds)', `${fixed(p50)} / ${fixed(p99)}`],
      [
        'baseline p50 / p99 (ms, median of rounds)',
        `${fixed(median(pairs.map(({ b }) => b.p50)))} / ${fixed(median(pairs.map(({ b }) => b.p99)))}`,
      ],
      ['response size', `${bytes} bytes`],
      ['non-2xx or errors (Strata)', String(failures)],
    ],
    notes: ['10 connections, one customer token, STRATA_NOW fixed; the load generator is a separate process on the same 2 cores.'],
    charts: charts(pairs, ratios),
  };
}

function charts(pairs: { s: LoadResult; b: LoadResult }[], ratios: number[]): ChartData[] {
  const pair = { label: 'alternating pair', unit: '' };
  const sides = (f: (r: LoadResult) => number, unit: string) => [
    { name: 'Strata', unit, points: numbered(pairs.map(({ s }) => f(s))) },
    { name: 'bare node:http', unit, points: numbered(pairs.map(({ b }) => f(b))) },
  ];
  return [
    {
      id: 'scenario-1-ratio',
      title: '1. Cached query: Strata req/s ÷ bare node:http req/s, per pair',
      kind: 'bar',
      x: pair,
      y: { label: 'ratio', unit: '' },
      series: [{ name: 'ratio', unit: '', points: numbered(ratios) }],
      target: { value: 0.25, label: 'target ≥ 0.25' },
    },
    {
      id: 'scenario-1-throughput',
      title: '1. Cached query: req/s of each round',
      kind: 'bar',
      x: pair,
      y: { label: 'throughput', unit: 'req/s' },
      series: sides((r) => r.rps, 'req/s'),
    },
    {
      id: 'scenario-1-p99',
      title: '1. Cached query: p99 latency of each round',
      kind: 'bar',
      x: pair,
      y: { label: 'p99', unit: 'ms' },
      series: sides((r) => r.p99, 'ms'),
      target: { value: 10, label: 'target < 10 ms (Strata)' },
    },
  ];
}
