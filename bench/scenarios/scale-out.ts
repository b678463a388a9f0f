import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from '../load-generator.ts';
import { post, runLoad, startStrata } from '../lib/children.ts';
import { FIXED_END, jsonHeaders, seed, token } from '../lib/dataset.ts';
import type { ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { fixed, median } from '../lib/stats.ts';
import { BENCH_EDGE_ENV, firstCluster, timeseriesBody } from './cached-query.ts';

/** Alternating pairs of rounds (A B, B A, ...): the figure is the median of the pairs' ratios. */
const PAIRS = 5;

/**
 * Scenario 6: `npm start` with STRATA_WORKERS=2 (node:cluster, one port)
 * against STRATA_WORKERS=1, on copies of one dataset, scenario 1's cached
 * query at 10 connections, rounds alternating.
 */
export async function scaleOut(o: ScenarioOptions): Promise<ScenarioReport> {
  const one = join(o.dir, 'scale-1.duckdb');
  const two = join(o.dir, 'scale-2.duckdb');
  seed(one, { seed: 11, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: FIXED_END });
  rmSync(two, { force: true });
  copyFileSync(one, two);
  const env = { ...BENCH_EDGE_ENV, STRATA_NOW: FIXED_END, STRATA_LOG_LEVEL: 'warn', STRATA_AGGREGATE_EVERY: '0' };
  const single = await startStrata(one, { ...env, STRATA_WORKERS: '1' });
  const double = await startStrata(two, { ...env, STRATA_WORKERS: '2' });
  try {
    const bearer = token('customer', 't-1');
    const body = timeseriesBody(await firstCluster(single.url, bearer));
    const [a, b] = [await post(single.url, bearer, body), await post(double.url, bearer, body)];
    if (a.text !== b.text) throw new Error(`one and two workers answer differently:\n${a.text.slice(0, 600)}\n${b.text.slice(0, 600)}`);
    const spec = (url: string, durationS: number) => ({ url: `${url}/graphql`, connections: 10, durationS, seed: 1, requests: [{ body, headers: jsonHeaders(bearer), weight: 1 }] });
    await runLoad(spec(single.url, 2));
    await runLoad(spec(double.url, 3)); // both workers warm
    const pairs: { one: LoadResult; two: LoadResult }[] = [];
    for (let round = 0; round < PAIRS; round++) {
      const first = await runLoad(spec(round % 2 ? double.url : single.url, o.roundS));
      const second = await runLoad(spec(round % 2 ? single.url : double.url, o.roundS));
      pairs.push(round % 2 ? { two: first, one: second } : { one: first, two: second });
    }
    const ratios = pairs.map((p) => p.two.rps / p.one.rps);
    const ratio = median(ratios);
    return {
      id: 6,
      title: 'Scale-out: two worker processes behind one port vs one',
      target: 'req/s with STRATA_WORKERS=2 ÷ STRATA_WORKERS=1 ≥ 1.6',
      met: ratio >= 1.6,
      figures: [
        [`req/s ratio 2 ÷ 1 worker (median of ${PAIRS} alternating pairs)`, `${fixed(ratio)} (pairs: ${ratios.map((r) => fixed(r)).join(', ')})`],
        ['req/s, 1 worker', pairs.map((p) => fixed(p.one.rps, 0)).join(', ')],
        ['req/s, 2 workers', pairs.map((p) => fixed(p.two.rps, 0)).join(', ')],
        ['p50 / p99 ms, 1 worker (median of rounds)', `${fixed(median(pairs.map((p) => p.one.p50)))} / ${fixed(median(pairs.map((p) => p.one.p99)))}`],
        ['p50 / p99 ms, 2 workers (median of rounds)', `${fixed(median(pairs.map((p) => p.two.p50)))} / ${fixed(median(pairs.map((p) => p.two.p99)))}`],
      ],
      notes: [
        'The machine has 2 cores for everything: the load generator (one process, about one core at these rates), the primary and the workers. Two workers can at best use the core the generator leaves, so this measures contention as much as scaling; on a machine with spare cores the ratio is the one to re-check.',
      ],
    };
  } finally {
    await single.stop();
    await double.stop();
  }
}
