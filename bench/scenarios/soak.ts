import { controlUrl, getJson, runLoad, startBenchServer } from '../lib/children.ts';
import type { ChartData, ScenarioOptions, ScenarioReport } from '../lib/report.ts';
import { sampleRss, type RssSample } from '../lib/rss-sampler.ts';
import { fixed, mb, percentile, sleep, slope } from '../lib/stats.ts';
import { dashboardDataset, dashboardRequests, figuresOf, serverEnv, type ServerStats } from './dashboard-replay.ts';

const LIMIT = 256 * 1024 * 1024;

/**
 * What a deployment with a 256 MB memory budget sets (README, "Sizing"): a V8
 * heap bound (V8 otherwise sizes its heap to the machine, GBs here, and at
 * thousands of requests a second uses it), a small young generation,
 * cache and DuckDB bounds that fit the budget instead of the defaults
 * (64 + 32 + 32 MB of caches, 128 MB and a thread per core for DuckDB), and
 * one thread in Node's pool, where DuckDB runs each query: every pool thread
 * that runs queries keeps its own allocator caches, and every read it can run
 * at once keeps a connection with its prepared statements. And two glibc
 * malloc arenas instead of one per thread (8 per core): V8's helper threads
 * and the pool thread otherwise each keep freed memory in an arena of their
 * own (side by side at the same load, the p50 RSS was 8–10 MB lower with two).
 * DuckDB's 24 MB also bounds what a burst of reads and rebuilds takes from its
 * allocator at once: its allocations swing by up to 30 MB within seconds, and
 * at 24 MB instead of 32 the soak's peaks were about 10 MB lower. 16 MB is too
 * little for the start-up aggregation of the bench's dataset.
 */
export const BUDGET_256MB_ENV: Record<string, string> = {
  NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=2',
  STRATA_CACHE_MAX_MB: '16',
  STRATA_RESPONSE_CACHE_MAX_MB: '8',
  STRATA_DOCUMENT_CACHE_MAX_MB: '4',
  STRATA_DUCKDB_MEMORY_MB: '24',
  STRATA_DUCKDB_THREADS: '1',
  UV_THREADPOOL_SIZE: '1',
  MALLOC_ARENA_MAX: '2',
};

/**
 * Scenario 5: scenario 2's load (response cache on) for --duration seconds
 * (default 1200: 10 minutes of warm-up, then the 10 judged minutes), RSS
 * sampled every second from outside and the server's own figures every 10 s.
 *
 * The fitted slope of the second half says whether memory keeps growing.
 * The first half is warm-up because bounded structures take minutes to fill
 * at this load (BENCHMARKS.md, "What limits"): the caches in the first minute,
 * but DuckDB's eviction queues (up to 32,768 dead entries each, every one
 * keeping the 200-byte allocation of a block that is gone) and the prepared
 * statements (a new batch shape now and then, up to 64) only after 6–7
 * minutes, when glibc's heap stops growing. Fitted from the first minute on,
 * that filling reads as a trend of 5–7 %; the figures report that slope too.
 */
export async function soak(o: ScenarioOptions): Promise<ScenarioReport> {
  const file = dashboardDataset(o.dir, 'soak.duckdb');
  const server = await startBenchServer(file, { ...serverEnv(undefined), ...BUDGET_256MB_ENV });
  const samples: Sample[] = [];
  try {
    const requests = await dashboardRequests(server);
    const stats = `${controlUrl(server)}/stats`;
    const start = Date.now();
    const sampleNow = async (): Promise<void> => {
      // A server that died under the budget says why in its own output.
      const s = await getJson<ServerStats>(stats).catch((e: unknown) => {
        throw new Error(`the soaked server stopped answering (${String(e)}); its last output:\n${server.output().slice(-3000)}`);
      });
      samples.push({ ...s, t: (Date.now() - start) / 1000 });
    };
    await sampleNow();
    const rss = sampleRss(server.process.pid ?? 0);
    const load = runLoad({ url: `${server.url}/graphql`, connections: 10, durationS: o.soakS, seed: 77, requests });
    let finished = false;
    void load.finally(() => (finished = true));
    while (!finished) {
      await Promise.race([sleep(10_000), load.catch(() => undefined)]);
      if (!finished) await sampleNow();
    }
    await sampleNow();
    const rssSamples = rss.stop();
    const result = await load;
    // What the caches did over the whole soak, from the server's own counters (as scenario 2 counts them).
    const served = figuresOf([{ load: result, before: samples[0]!, after: samples[samples.length - 1]! }]);
    // Unexpected errors are masked in the answer (HTTP 200 with an INTERNAL code) and logged whole at level 50.
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.includes('"level":50')).length;
    return { ...report(samples, rssSamples, result, served, o.soakS, logged), charts: charts(samples, rssSamples, o.soakS) };
  } finally {
    await server.stop();
  }
}

/** The server's own figures (memory and counters), and when they were read. */
interface Sample extends ServerStats {
  readonly t: number;
}

/** The least-squares slope of one figure of time-stamped samples, per minute. */
const perMinute = <T extends { t: number }>(xs: readonly T[], f: (s: T) => number): number =>
  slope(
    xs.map((s) => s.t / 60),
    xs.map(f),
  );

/** Least-squares growth over a run of samples, per minute and over their span, and as a share of the first. */
function trend(xs: readonly RssSample[]): { perMin: number; growth: number; share: number } {
  const perMin = perMinute(xs, (s) => s.rss);
  const growth = perMin * (((xs[xs.length - 1]?.t ?? 0) - (xs[0]?.t ?? 0)) / 60);
  return { perMin, growth, share: growth / (xs[0]?.rss ?? 1) };
}

/**
 * The verdict reads the RSS sampled once a second from outside: the max over
 * the whole run, and the fitted growth over its second half; the server's
 * own figures every 10 s say where the memory is.
 */
function report(
  samples: Sample[],
  rss: RssSample[],
  load: Awaited<ReturnType<typeof runLoad>>,
  served: ReturnType<typeof figuresOf>,
  seconds: number,
  logged: number,
): ScenarioReport {
  const warm = Math.min(60, seconds / 3);
  const steady = rss.filter((s) => s.t >= warm);
  const judged = trend(rss.filter((s) => s.t >= seconds / 2));
  const fromMinute = trend(steady);
  const heapSlope = perMinute(
    samples.filter((s) => s.t >= warm),
    (s) => s.heapUsed,
  );
  const values = steady.map((s) => s.rss);
  // Either sampler's highest reading counts (the server's own lands just after a request it answered).
  const max = Math.max(...rss.map((s) => s.rss), ...samples.map((s) => s.rss));
  const over = values.filter((v) => v >= LIMIT).length;
  const before = samples[0]!.rss;
  const last = samples[samples.length - 1]!;
  // "No growth trend": over the second half, the fitted growth is under 5 % of the RSS at its start.
  const flat = judged.share < 0.05;
  // The bounds hold only if nothing was lost under them: every request answered, every store query done.
  // Read from the last sample taken under load: when the load generator stops, the requests it
  // leaves in flight are cancelled with their store queries, and nobody waits for those answers.
  const failed = (samples[samples.length - 2] ?? last).storeFailures - samples[0]!.storeFailures;
  const lost = load.non2xx + load.errors + failed + logged;
  const growthFigure = (t: ReturnType<typeof trend>): string =>
    `${fixed(t.perMin / 1024 / 1024, 2)} MB/min (fitted growth over that span ${mb(t.growth)}, ${fixed(100 * t.share, 1)} % of its start)`;
  const series = (f: (s: Sample) => number): string => samples.map((s) => fixed(f(s) / 1024 / 1024, 0)).join(' ');
  return {
    id: 5,
    title: `Soak: scenario 2's load for ${seconds} s`,
    target: 'RSS < 256 MB throughout, no growth trend, no request or store query failed',
    met: max < LIMIT && flat && lost === 0,
    figures: [
      [
        'RSS before load / after the first minute: p50, p99 (sampled every second) / max of both samplers',
        `${mb(before)} / ${mb(percentile(values, 0.5))}, ${mb(percentile(values, 0.99))} / ${mb(max)}`,
      ],
      ['seconds at or over 256 MB', `${over} of ${values.length}`],
      ['RSS per minute of load, min–max (MB)', perMinuteRanges(rss)],
      [`fitted RSS slope over the second half (from ${fixed(seconds / 2, 0)} s: the verdict)`, growthFigure(judged)],
      ['fitted RSS slope after the first minute (with the bounded structures still filling)', growthFigure(fromMinute)],
      [
        'of which anonymous (heaps, arenas) / file-backed (code pages of node, libduckdb): p50 after the first minute, fitted slope',
        `${mb(
          percentile(
            steady.map((s) => s.anon),
            0.5,
          ),
        )}, ${fixed(perMinute(steady, (s) => s.anon) / 1024 / 1024, 2)} MB/min / ${mb(
          percentile(
            steady.map((s) => s.file),
            0.5,
          ),
        )}, ${fixed(perMinute(steady, (s) => s.file) / 1024 / 1024, 2)} MB/min`,
      ],
      ['fitted heap-used slope after the first minute', `${fixed(heapSlope / 1024 / 1024, 2)} MB/min`],
      [
        'store read connections opened over the soak (at most UV_THREADPOOL_SIZE are open) / statements prepared over the soak',
        `${last.reads.opened} / ${last.reads.statements.prepared}`,
      ],
      ['prepared statements held by the idle read connections (every 10 s)', samples.map((s) => s.reads.statements.held).join(' ')],
      [
        'checkpoints after the late-data rollup rebuilds: done / refused (another write was running)',
        `${last.checkpoints.done} / ${last.checkpoints.skipped}`,
      ],
      ['requests / req/s / p99', `${load.requests} / ${fixed(load.rps, 0)} / ${fixed(load.p99)} ms`],
      [
        'failed: non-2xx answers or socket errors / store queries (to the last sample under load) / errors the server logged',
        `${load.non2xx + load.errors} / ${failed} / ${logged}`,
      ],
      [
        'answered without a store query / store queries per 1000 requests (with these cache sizes)',
        `${fixed(100 * served.served, 1)} % / ${fixed(served.perThousand, 1)}`,
      ],
      ['RSS as the server reports it (MB, every 10 s)', series((s) => s.rss)],
      ['heap-used samples (MB)', series((s) => s.heapUsed)],
      ['V8 heap reserved (heapTotal) samples (MB)', series((s) => s.heapTotal)],
      ['V8 heap resident (total_physical_size) samples (MB)', series((s) => s.heapPhysical)],
      [
        "RSS outside V8's heap, anonymous (DuckDB, malloc arenas, stacks: RSS − file-backed − V8 resident) samples (MB)",
        series((s) => s.rssAnon - s.heapPhysical),
      ],
      [
        'piece cache / response cache, bytes counted against their bounds (MB, every 10 s)',
        `${series((s) => s.cacheBytes)} / ${series((s) => s.responseCacheBytes)}`,
      ],
      ['external (Buffers) samples (MB)', series((s) => s.external)],
      ['DuckDB (duckdb_memory) samples (MB)', series((s) => s.duckdb)],
    ],
    notes: [
      `The server runs with the settings of a 256 MB deployment: ${Object.entries(BUDGET_256MB_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}.`,
      '"No growth trend" is judged as: the least-squares RSS growth over the second half of the run is under 5 % of the RSS at its start. The first half is warm-up: DuckDB\'s eviction queues and the prepared statements fill for 6–7 minutes at this load (BENCHMARKS.md).',
    ],
  };
}

function perMinuteRanges(rss: readonly RssSample[]): string {
  const minutes = new Map<number, number[]>();
  for (const s of rss) {
    const minute = Math.floor(s.t / 60);
    const list = minutes.get(minute) ?? [];
    list.push(s.rss / 1024 / 1024);
    minutes.set(minute, list);
  }
  return [...minutes.values()].map((v) => `${fixed(Math.min(...v), 0)}–${fixed(Math.max(...v), 0)}`).join(', ');
}

const MB = 1024 * 1024;

/** RSS every second (the verdict's samples) and, every 10 s, where the server says its memory is. */
function charts(samples: Sample[], rss: RssSample[], seconds: number): ChartData[] {
  const time = { label: 'time under load', unit: 's' };
  const memory = { label: 'memory', unit: 'MB' };
  const outside = (name: string, f: (s: RssSample) => number) => ({
    name,
    unit: 'MB',
    points: rss.map((s): [number, number] => [s.t, f(s) / MB]),
  });
  const inside = (name: string, f: (s: Sample) => number) => ({
    name,
    unit: 'MB',
    points: samples.map((s): [number, number] => [s.t, f(s) / MB]),
  });
  return [
    {
      id: 'scenario-5-rss',
      title: `5. Soak: resident memory, sampled every second (256 MB profile, ${seconds} s)`,
      kind: 'line',
      x: time,
      y: memory,
      series: [
        outside('RSS', (s) => s.rss),
        outside('anonymous (heaps, arenas)', (s) => s.anon),
        outside('file-backed (node, libduckdb)', (s) => s.file),
      ],
      target: { value: LIMIT / MB, label: 'bound: RSS < 256 MB' },
      marks: [{ x: seconds / 2, label: 'judged half starts' }],
    },
    {
      id: 'scenario-5-breakdown',
      title: "5. Soak: the server's own memory figures, every 10 s",
      kind: 'line',
      x: time,
      y: memory,
      series: [
        inside('V8 heap resident', (s) => s.heapPhysical),
        inside('anonymous outside V8 (DuckDB, malloc, stacks)', (s) => s.rssAnon - s.heapPhysical),
        inside('piece cache', (s) => s.cacheBytes),
        inside('response cache', (s) => s.responseCacheBytes),
        inside('DuckDB (duckdb_memory)', (s) => s.duckdb),
      ],
    },
  ];
}
