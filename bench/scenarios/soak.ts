import { controlUrl, getJson, runLoad, startBenchServer } from '../lib/children.ts';
import type { ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { fixed, mb, sleep, slope } from '../lib/stats.ts';
import { dashboardDataset, dashboardRequests, serverEnv, type ServerStats } from './dashboard-replay.ts';

const LIMIT = 256 * 1024 * 1024;
const HEAP_MB = 256;

/**
 * Scenario 5: scenario 2's load (response cache on) for --duration seconds
 * (default 600), RSS sampled every 10 s; the fitted slope says whether memory
 * keeps growing. The first minute (warm-up: JIT, caches filling) is fitted
 * apart from the rest.
 */
export async function soak(o: ScenarioOptions): Promise<ScenarioReport> {
  const file = dashboardDataset(o.dir, 'soak.duckdb');
  // V8 otherwise sizes its heap to the machine (GBs here) and, at thousands of requests a second, uses it:
  // a service is run with a heap bound, and so is this one (BENCHMARKS.md, scenario 5).
  const server = await startBenchServer(file, { ...serverEnv(undefined), NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` });
  const samples: { t: number; rss: number; heap: number }[] = [];
  try {
    const requests = await dashboardRequests(server);
    const stats = `${controlUrl(server)}/stats`;
    const start = Date.now();
    const sampleNow = async (): Promise<void> => {
      const s = await getJson<ServerStats>(stats);
      samples.push({ t: (Date.now() - start) / 1000, rss: s.rss, heap: s.heapUsed });
    };
    await sampleNow();
    const load = runLoad({ url: `${server.url}/graphql`, connections: 10, durationS: o.soakS, seed: 77, requests });
    let finished = false;
    void load.finally(() => (finished = true));
    while (!finished) {
      await Promise.race([sleep(10_000), load.catch(() => undefined)]);
      if (!finished) await sampleNow();
    }
    await sampleNow();
    return report(samples, await load, o.soakS);
  } finally {
    await server.stop();
  }
}

function report(samples: { t: number; rss: number; heap: number }[], load: Awaited<ReturnType<typeof runLoad>>, seconds: number): ScenarioReport {
  const steady = samples.filter((s) => s.t >= Math.min(60, seconds / 3));
  const perMin = (xs: typeof samples, f: (s: (typeof samples)[number]) => number): number => slope(xs.map((s) => s.t / 60), xs.map(f));
  const rssSlope = perMin(steady, (s) => s.rss);
  const heapSlope = perMin(steady, (s) => s.heap);
  const max = Math.max(...samples.map((s) => s.rss));
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const steadyFirst = steady[0] ?? first;
  // "No growth trend": over the steady part, the fitted growth is under 5 % of the RSS at its start.
  const growth = rssSlope * ((last.t - steadyFirst.t) / 60);
  const flat = growth < 0.05 * steadyFirst.rss;
  return {
    id: 5,
    title: `Soak: scenario 2's load for ${seconds} s`,
    target: 'RSS < 256 MB throughout, no growth trend',
    met: max < LIMIT && flat,
    figures: [
      ['RSS at start (before load) / after 1 min / at end / max', `${mb(first.rss)} / ${mb(steadyFirst.rss)} / ${mb(last.rss)} / ${mb(max)}`],
      ['fitted RSS slope after the first minute', `${fixed(rssSlope / 1024 / 1024, 2)} MB/min (fitted growth over that span ${mb(growth)}, ${fixed((100 * growth) / steadyFirst.rss, 1)} % of its start)`],
      ['fitted heap-used slope after the first minute', `${fixed(heapSlope / 1024 / 1024, 2)} MB/min`],
      ['requests / req/s / p99', `${load.requests} / ${fixed(load.rps, 0)} / ${fixed(load.p99)} ms`],
      ['RSS samples (MB, every 10 s)', samples.map((s) => fixed(s.rss / 1024 / 1024, 0)).join(' ')],
      ['heap-used samples (MB)', samples.map((s) => fixed(s.heap / 1024 / 1024, 0)).join(' ')],
    ],
    notes: [
      `The server runs with NODE_OPTIONS=--max-old-space-size=${HEAP_MB} (the V8 heap bound a deployment sets).`,
      '"No growth trend" is judged as: the least-squares RSS growth over the steady part is under 5 % of the RSS at its start.',
    ],
  };
}
