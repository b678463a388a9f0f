/**
 * The load generator: a separate process (so it never shares an event loop
 * with the server it measures), driven by a JSON spec in the file argv[2], printing one
 * JSON result line on stdout. autocannon does the HTTP work.
 *
 * A spec lists request bodies with weights; each request picks one at random
 * by weight (a Zipf popularity is expressed in the weights).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly weight: number;
}

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  readonly requests: readonly LoadRequest[];
  /** Fixed PRNG seed, so two runs of one spec send the same sequence. */
  readonly seed: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** mulberry32: small, seedable, good enough to pick requests. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function picker(spec: LoadSpec): () => LoadRequest {
  const total = spec.requests.reduce((n, r) => n + r.weight, 0);
  const cumulative: number[] = [];
  let sum = 0;
  for (const r of spec.requests) cumulative.push((sum += r.weight / total));
  const random = prng(spec.seed);
  return () => {
    const x = random();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? 1) < x) lo = mid + 1;
      else hi = mid;
    }
    return spec.requests[lo] ?? spec.requests[0]!;
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
  const pick = picker(spec);
  // autocannon's own histogram has 1 ms resolution; keep every response time (float ms) for exact percentiles.
  const times: number[] = [];
  let non2xx = 0;
  let done: (result: autocannon.Result) => void = () => undefined;
  let failed: (error: unknown) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.durationS,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const r = pick();
            return { ...request, method: 'POST', body: r.body, headers: r.headers };
          },
        },
      ],
    },
    (error: unknown, result: autocannon.Result) => (error ? failed(error) : done(result)),
  );
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) times.push(ms);
    else non2xx += 1;
  });
  const result = await finished;
  const sorted = Float64Array.from(times).sort();
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  const out: LoadResult = {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || spec.durationS),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: at(1),
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const round = (x: number): number => Math.round(x * 100) / 100;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
