import { join } from 'node:path';
import type { LoadResult, LoadSpec } from '../load-generator.ts';
import { post, runLoad, startStrata, type Child } from '../lib/children.ts';
import { groupCpuSeconds } from '../lib/cpu-time.ts';
import { FIXED_END, jsonHeaders, seed, twinOf, token } from '../lib/dataset.ts';
import { numbered, type ChartData, type ScenarioOptions, type ScenarioReport } from '../lib/report.ts';
import { fixed, median } from '../lib/stats.ts';
import { runWrk } from '../lib/wrk.ts';
import { FIXED_CLOCK_ENV, firstCluster, timeseriesBody } from './cached-query.ts';

/** Alternating pairs of rounds (A B, B A, ...): the figure is the median of the pairs' ratios. */
const PAIRS = 5;

type Generator = 'wrk' | 'autocannon';

/** One measured round: the load's figures and the CPU it cost, in ms a request. */
interface Round {
  readonly load: LoadResult;
  readonly serverMs: number;
  readonly generatorMs?: number;
}

interface Workload {
  readonly ratio: number;
  readonly ratios: number[];
  readonly pairs: { one: Round; two: Round }[];
}

/**
 * Scenario 6: `npm start` with STRATA_WORKERS=2 (node:cluster, one port)
 * against STRATA_WORKERS=1, on copies of one dataset, rounds alternating, with
 * scenario 1's query at 10 connections. Judged on the executed workload
 * (response cache off: GraphQL runs on every request, from the piece cache),
 * loaded by wrk. The machine has 2 cores for everything, so the generator's
 * own CPU is what a second worker cannot have: wrk spends about 0.03 ms a
 * request, autocannon 0.1–0.2 ms. Also shown: replayed answers (response
 * cache on, about 0.17 ms of server CPU each) and the executed workload
 * loaded by autocannon, the generator of the other scenarios.
 */
export async function scaleOut(o: ScenarioOptions): Promise<ScenarioReport> {
  const one = join(o.dir, 'scale-1.duckdb');
  seed(one, { seed: 11, tenants: 3, clusters: 2, topics: 3, partitions: 2, days: 3, end: FIXED_END });
  const two = twinOf(one, join(o.dir, 'scale-2.duckdb'));
  const executedEnv = { ...FIXED_CLOCK_ENV, STRATA_RESPONSE_CACHE_TTL: '0' };
  const executed = await workload(o, one, two, executedEnv, 'wrk');
  const replayed = await workload(o, one, two, FIXED_CLOCK_ENV, 'wrk');
  const autocannon = await workload(o, one, two, executedEnv, 'autocannon');
  return {
    id: 6,
    title: 'Scale-out: two worker processes behind one port vs one',
    target: 'req/s with STRATA_WORKERS=2 ÷ STRATA_WORKERS=1 ≥ 1.6 (executed workload, loaded by wrk)',
    met: executed.ratio >= 1.6,
    figures: [
      ...rows('executed (GraphQL each request), wrk', executed),
      ...rows('replayed (response cache), wrk', replayed),
      ...rows('executed, autocannon', autocannon),
    ],
    notes: [
      "The machine has 2 cores for everything: the load generator (one process, one thread), the primary and the workers. With one worker a core is left to the generator and to idle; with two, the generator takes its CPU from the workers, so the ratio cannot pass 2C ÷ (C + G), C the servers' CPU a request and G the generator's (both measured above, from /proc).",
      "autocannon (Node) spends several times wrk's CPU a request, which is why the scenario is judged with wrk; the other scenarios compare servers under one generator, where its cost is shared.",
    ],
    charts: charts(executed, replayed, autocannon),
  };
}

function charts(executed: Workload, replayed: Workload, autocannon: Workload): ChartData[] {
  const pair = { label: 'alternating pair', unit: '' };
  const ratio = (name: string, w: Workload) => ({ name, unit: '', points: numbered(w.ratios) });
  const rps = (name: string, f: (p: { one: Round; two: Round }) => Round) => ({
    name,
    unit: 'req/s',
    points: numbered(executed.pairs.map((p) => f(p).load.rps)),
  });
  return [
    {
      id: 'scenario-6-ratio',
      title: '6. Scale-out: req/s with 2 workers ÷ 1 worker, per pair',
      kind: 'bar',
      x: pair,
      y: { label: 'ratio', unit: '' },
      series: [ratio('executed, wrk (judged)', executed), ratio('replayed, wrk', replayed), ratio('executed, autocannon', autocannon)],
      target: { value: 1.6, label: 'target ≥ 1.6 (executed, wrk)' },
    },
    {
      id: 'scenario-6-throughput',
      title: '6. Scale-out: req/s of each round (executed workload, wrk)',
      kind: 'bar',
      x: pair,
      y: { label: 'throughput', unit: 'req/s' },
      series: [rps('1 worker', (p) => p.one), rps('2 workers', (p) => p.two)],
    },
  ];
}

function rows(name: string, w: Workload): [string, string][] {
  const med = (f: (p: { one: Round; two: Round }) => number, digits = 2): string => fixed(median(w.pairs.map(f)), digits);
  const out: [string, string][] = [
    [
      `${name}: req/s ratio 2 ÷ 1 worker (median of ${PAIRS} alternating pairs)`,
      `${fixed(w.ratio)} (pairs: ${w.ratios.map((r) => fixed(r)).join(', ')})`,
    ],
    [
      `${name}: req/s, 1 worker / 2 workers`,
      `${w.pairs.map((p) => fixed(p.one.load.rps, 0)).join(', ')} / ${w.pairs.map((p) => fixed(p.two.load.rps, 0)).join(', ')}`,
    ],
    [
      `${name}: p50 / p99 ms, 1 worker → 2 workers (medians)`,
      `${med((p) => p.one.load.p50)} / ${med((p) => p.one.load.p99)} → ${med((p) => p.two.load.p50)} / ${med((p) => p.two.load.p99)}`,
    ],
    [
      `${name}: servers' CPU ms a request, 1 worker / 2 workers (medians)`,
      `${med((p) => p.one.serverMs, 3)} / ${med((p) => p.two.serverMs, 3)}`,
    ],
  ];
  const gen = w.pairs.flatMap((p) => [p.one.generatorMs, p.two.generatorMs]).filter((x): x is number => x !== undefined);
  if (gen.length > 0) out.push([`${name}: generator's CPU ms a request (median of rounds)`, fixed(median(gen), 3)]);
  const failed = w.pairs.reduce((n, p) => n + p.one.load.non2xx + p.one.load.errors + p.two.load.non2xx + p.two.load.errors, 0);
  out.push([`${name}: failed requests`, String(failed)]);
  return out;
}

/** One round of load on one server, with the CPU it cost the server's process group and the generator. */
async function round(server: Child, spec: LoadSpec, generator: Generator): Promise<Round> {
  const pgid = server.process.pid ?? 0;
  const before = groupCpuSeconds(pgid);
  const wrk = generator === 'wrk' ? await runWrk(spec) : undefined;
  const load = wrk ?? (await runLoad(spec));
  const perRequest = (s: number): number => (s * 1000) / Math.max(1, load.requests);
  const serverMs = perRequest(groupCpuSeconds(pgid) - before);
  return wrk ? { load, serverMs, generatorMs: perRequest(wrk.generatorCpuS) } : { load, serverMs };
}

async function workload(
  o: ScenarioOptions,
  one: string,
  two: string,
  env: Record<string, string>,
  generator: Generator,
): Promise<Workload> {
  const single = await startStrata(one, { ...env, STRATA_WORKERS: '1' });
  const double = await startStrata(two, { ...env, STRATA_WORKERS: '2' });
  try {
    const bearer = token('customer', 't-1');
    const body = timeseriesBody(await firstCluster(single.url, bearer));
    const [a, b] = [await post(single.url, bearer, body), await post(double.url, bearer, body)];
    if (a.text !== b.text) throw new Error(`one and two workers answer differently:\n${a.text.slice(0, 600)}\n${b.text.slice(0, 600)}`);
    const spec = (server: Child, durationS: number): LoadSpec => ({
      url: `${server.url}/graphql`,
      connections: 10,
      durationS,
      seed: 1,
      requests: [{ body, headers: jsonHeaders(bearer), weight: 1 }],
    });
    await round(single, spec(single, 2), generator);
    await round(double, spec(double, 3), generator); // both workers warm
    const pairs: { one: Round; two: Round }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const [x, y] = i % 2 ? [double, single] : [single, double];
      const first = await round(x, spec(x, o.roundS), generator);
      const second = await round(y, spec(y, o.roundS), generator);
      pairs.push(i % 2 ? { two: first, one: second } : { one: first, two: second });
    }
    const ratios = pairs.map((p) => p.two.load.rps / p.one.load.rps);
    return { ratio: median(ratios), ratios, pairs };
  } finally {
    await single.stop();
    await double.stop();
  }
}
