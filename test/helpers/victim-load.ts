import { performance } from 'node:perf_hooks';
import { dashboardBody, RANGES, type TimeRange } from '../../bench/lib/dashboards.ts';

/**
 * A well-behaved tenant's dashboard load, measured with plain fetch: a few
 * refreshes in flight at once, each one 12-panel operation (bench/lib/dashboards.ts).
 * Two refreshes in three repeat the usual ranges (cached), one asks for a
 * window nobody asked for before (uncached: a ragged start, so the edge pieces
 * are new store work); those differ from phase to phase, so every phase does
 * the same share of fresh work.
 */
export interface Sample {
  readonly ms: number;
  /** HTTP 200 with no `errors` in the body. */
  readonly answered: boolean;
  /** `200`, `429:RATE_LIMITED`, `200:UPSTREAM_TIMEOUT`, `fetch:TimeoutError`, … */
  readonly outcome: string;
}

export interface Figures {
  readonly requests: number;
  readonly answeredPct: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Outcomes other than a clean 200, with their counts. */
  readonly failures: Record<string, number>;
}

export interface VictimOptions {
  readonly url: string;
  readonly token: string;
  readonly clusters: readonly string[];
  readonly durationMs: number;
  readonly concurrency: number;
  /** Picks this phase's uncached windows, so no two phases ask for the same ones. */
  readonly phase: number;
  /** A refresh not answered by then counts as not answered (the server's deadline is 15 s). */
  readonly requestTimeoutMs?: number;
  /** Each worker starts a refresh at most this often: a dashboard stays within its token's quota, as a real one does. */
  readonly minIntervalMs?: number;
}

const HOUR_MS = 3_600_000;

/** The n-th refresh of a phase: two in three a usual range, the third a window of its own. */
export function victimBody(clusters: readonly string[], phase: number, n: number): string {
  const cluster = clusters[n % clusters.length] ?? 'lkc-missing';
  const k = Math.floor(n / 3);
  if (n % 3 !== 2) return dashboardBody(cluster, RANGES[(2 * k + (n % 3)) % RANGES.length] ?? RANGES[0]!);
  return dashboardBody(cluster, freshRange(phase, k));
}

/** Distinct per (phase, k): a sliding `now-Nm/now`, or an absolute 6 h or 24 h window with a ragged start. */
function freshRange(phase: number, k: number): TimeRange {
  const salt = (phase * 7_919 + k * 104_729) % 1_000_003;
  if (k % 3 === 0) return { interval: `now-${61 + (salt % 300)}m/now`, granularity: 'PT5M', weight: 0 };
  const hourNow = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const start = hourNow - (6 + (salt % 24)) * HOUR_MS - (1 + (salt % 59)) * 60_000;
  const day = k % 3 === 1;
  return { interval: `${new Date(start).toISOString()}/${day ? 'PT24H' : 'PT6H'}`, granularity: day ? 'PT1H' : 'PT5M', weight: 0 };
}

/** Runs the load for the phase's duration and returns one sample per refresh. */
export async function runVictim(options: VictimOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  const deadline = performance.now() + options.durationMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      samples.push(await refresh(options, victimBody(options.clusters, options.phase, next++)));
      const wait = (options.minIntervalMs ?? 0) - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return samples;
}

async function refresh(options: VictimOptions, body: string): Promise<Sample> {
  const started = performance.now();
  try {
    const response = await fetch(`${options.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body,
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 20_000),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    const code = firstErrorCode(text);
    const answered = response.status === 200 && code === undefined;
    return { ms, answered, outcome: answered ? '200' : `${response.status}:${code ?? 'none'}` };
  } catch (error) {
    return { ms: performance.now() - started, answered: false, outcome: `fetch:${error instanceof Error ? error.name : 'error'}` };
  }
}

function firstErrorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
    if (!body.errors || body.errors.length === 0) return undefined;
    return body.errors[0]?.extensions?.code ?? 'NO_CODE';
  } catch {
    return 'NOT_JSON';
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Answered share and latency percentiles of every refresh, answered or not (a refusal is fast, a timeout slow: both count). */
export function figures(samples: readonly Sample[]): Figures {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const failures: Record<string, number> = {};
  for (const s of samples) if (!s.answered) failures[s.outcome] = (failures[s.outcome] ?? 0) + 1;
  return {
    requests: samples.length,
    answeredPct: samples.length === 0 ? 0 : (100 * samples.filter((s) => s.answered).length) / samples.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    failures,
  };
}

export const describeFigures = (f: Figures): string =>
  `${f.requests} requests, answered ${f.answeredPct.toFixed(2)} %, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, max ${f.max.toFixed(1)} ms` +
  (Object.keys(f.failures).length > 0 ? `, failures ${JSON.stringify(f.failures)}` : '');
