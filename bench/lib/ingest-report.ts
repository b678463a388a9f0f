import type { LoadResult } from '../load-generator.ts';
import type { BulkWriteResult } from './bulk-write.ts';
import type { PushResult } from './otlp-push.ts';
import { type ChartData, numbered, type ScenarioReport } from './report.ts';
import type { RssSample } from './rss-sampler.ts';
import { fixed, mb, median, percentile, slope } from './stats.ts';

/** One round: the push to a fresh server, and the bare store's bulk write of the same rows. */
export interface Pair {
  readonly strata: PushResult;
  readonly bare: BulkWriteResult;
}

export interface IngestResults {
  /** One point per series per minute, as a collector's exporter sends. */
  readonly collector: readonly Pair[];
  /** Six points per series per minute, as an SDK exporting every 10 s sends. */
  readonly sdk: readonly Pair[];
  readonly latency: {
    readonly underPush: readonly number[];
    readonly idle: readonly number[];
    /** The same query refreshed while the point lands (a dashboard's view). */
    readonly cached: readonly number[];
    readonly pushed: PushResult;
  };
  readonly memory: {
    readonly rss: readonly RssSample[];
    readonly pushed: PushResult;
    readonly load: LoadResult;
    readonly latencies: readonly number[];
    readonly rollovers: number;
    readonly seconds: number;
  };
  readonly shards: number;
  readonly shardSize: number;
}

const MB = 1024 * 1024;
const rate = (p: PushResult): number => p.accepted / p.seconds;
const bareRate = (b: BulkWriteResult): number => b.points / b.seconds;
const thousands = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const each = (xs: readonly number[]): string => xs.map(thousands).join(', ');
const ms = (xs: readonly number[], q: number): string => fixed(percentile(xs, q), 0);

/** The figures of one layout's rounds: the medians, every round, and the medians' ratio. */
function throughputFigures(label: string, pairs: readonly Pair[]): [string, string][] {
  const strata = pairs.map((p) => rate(p.strata));
  const bare = pairs.map((p) => bareRate(p.bare));
  const first = pairs[0];
  const latencies = pairs.flatMap((p) => p.strata.latencies);
  return [
    [
      `${label}: points per round / raw rows they derive to`,
      first ? `${thousands(first.strata.accepted)} / ${thousands(first.bare.rows)}` : 'n/a',
    ],
    [`${label}: Strata, points/s: median (each round)`, `**${thousands(median(strata))}** (${each(strata)})`],
    [`${label}: bare DuckDB appender, points/s: median (each round)`, `${thousands(median(bare))} (${each(bare)})`],
    [`${label}: Strata / bare store (medians)`, `**${fixed((100 * median(strata)) / median(bare), 0)} %**`],
    [
      `${label}: one request's time to its 200, p50 / p99 / max (ms); 429 or 503 answers retried`,
      `${ms(latencies, 0.5)} / ${ms(latencies, 0.99)} / ${ms(latencies, 1)}; ${pairs.reduce((n, p) => n + p.strata.retried, 0)}`,
    ],
  ];
}

/** The RSS trend over the second half of the push: growth per minute and as a share of the RSS at its start. */
function secondHalf(rss: readonly RssSample[], seconds: number): { perMin: number; share: number } {
  const half = rss.filter((s) => s.t >= seconds / 2);
  const perMin = slope(
    half.map((s) => s.t / 60),
    half.map((s) => s.rss),
  );
  const span = ((half[half.length - 1]?.t ?? 0) - (half[0]?.t ?? 0)) / 60;
  return { perMin, share: (perMin * span) / (half[0]?.rss ?? 1) };
}

function memoryFigures(m: IngestResults['memory']): { figures: [string, string][]; flat: boolean } {
  const rss = m.rss.map((s) => s.rss);
  const trend = secondHalf(m.rss, m.seconds);
  // "Levels off": the fitted growth over the second half is under 5 % of the RSS at its start (scenario 5's rule).
  const flat = trend.share < 0.05;
  const figures: [string, string][] = [
    [
      `long push (${m.seconds} s) with dashboards: RSS before / peak / at the end`,
      `${mb(rss[0] ?? NaN)} / ${mb(Math.max(...rss))} / ${mb(rss[rss.length - 1] ?? NaN)}`,
    ],
    [
      'long push: fitted RSS growth over the second half (levels off: under 5 % of its start)',
      `${fixed(trend.perMin / MB, 2)} MB/min (${fixed(100 * trend.share, 1)} %): **${flat ? 'levels off' : 'still growing'}**`,
    ],
    ['long push: points accepted, points/s sustained', `${thousands(m.pushed.accepted)}, ${thousands(rate(m.pushed))}`],
    [
      'long push: dashboard refreshes / per s / p99 ms / failed',
      `${m.load.requests} / ${fixed(m.load.rps, 1)} / ${fixed(m.load.p99, 0)} / ${m.load.non2xx + m.load.errors}`,
    ],
    [
      'long push: push-to-queryable with dashboards, samples / p50 / p99 (ms)',
      `${m.latencies.length} / ${ms(m.latencies, 0.5)} / ${ms(m.latencies, 0.99)}`,
    ],
  ];
  return { figures, flat: flat && m.load.non2xx + m.load.errors === 0 };
}

export function ingestReport(r: IngestResults): ScenarioReport {
  const strata = median(r.collector.map((p) => rate(p.strata)));
  const ratio = strata / median(r.collector.map((p) => bareRate(p.bare)));
  const { underPush, idle, cached, pushed } = r.latency;
  const memory = memoryFigures(r.memory);
  const met = ratio >= 0.5 && strata >= 200_000 && percentile(underPush, 0.99) < 1000 && memory.flat;
  return {
    id: 7,
    title: 'Ingest: OTLP points per second against the bare store, push-to-queryable, memory',
    target:
      '≥ 50 % of the bare store’s bulk write and ≥ 200,000 points/s; push-to-queryable p99 < 1 s; RSS levels off under a long push with dashboards',
    met,
    figures: [
      ['senders × points per request (series)', `${r.shards} × ${thousands(r.shardSize)} (${thousands(r.shards * r.shardSize)})`],
      ...throughputFigures('collector (1 point per series per minute)', r.collector),
      ...throughputFigures('SDK (every 10 s: 6 points per series per minute)', r.sdk),
      [
        'push-to-queryable during a full-speed push: samples / p50 / p99 / max (ms)',
        `${underPush.length} / ${ms(underPush, 0.5)} / **${ms(underPush, 0.99)}** / ${ms(underPush, 1)}`,
      ],
      ['the push meanwhile, points/s', thousands(rate(pushed))],
      [
        'push-to-queryable at idle: samples / p50 / p99 / max (ms)',
        `${idle.length} / ${ms(idle, 0.5)} / ${ms(idle, 0.99)} / ${ms(idle, 1)}`,
      ],
      [
        'push-to-queryable at idle for a query answered just before (cached): samples / p50 / max (ms)',
        `${cached.length} / ${ms(cached, 0.5)} / ${ms(cached, 1)}`,
      ],
      ...memory.figures,
    ],
    notes: [
      'Bodies are OTLP protobuf ExportMetricsServiceRequests of cumulative Sums, encoded before the clock starts; senders keep each shard in time order over keep-alive connections. Every answer was 200 with no point rejected (the scenario fails otherwise).',
      'Push-to-queryable: a marker point for a series of its own, then the customer’s raw per-minute `now-10m/now` query of it polled once the push is answered, until the answer holds it; ms from sending the push. The cached form polls the same query from before the push, as a refreshing dashboard does.',
      'The bare store: a child process opens a fresh DuckDB file as the server opens its store and appends the same raw rows with DuckDB’s appender, one transaction per group commit’s worth of points (GROUP_POINTS). Rounds alternate with the server’s; the figures are medians.',
    ],
    charts: charts(r),
  };
}

function charts(r: IngestResults): ChartData[] {
  return [
    {
      id: 'scenario-7-throughput',
      title: '7. Ingest: points per second, Strata vs the bare store, each round',
      kind: 'bar',
      x: { label: 'round', unit: '' },
      y: { label: 'throughput', unit: 'points/s' },
      series: [
        { name: 'Strata, POST /v1/metrics', unit: 'points/s', points: numbered(r.collector.map((p) => rate(p.strata))) },
        { name: 'bare DuckDB appender', unit: 'points/s', points: numbered(r.collector.map((p) => bareRate(p.bare))) },
      ],
      target: { value: 200_000, label: 'target: ≥ 200,000 points/s' },
    },
    {
      id: 'scenario-7-rss',
      title: `7. Ingest: the server's RSS during a ${r.memory.seconds} s push with dashboards`,
      kind: 'line',
      x: { label: 'time', unit: 's' },
      y: { label: 'memory', unit: 'MB' },
      series: [
        { name: 'RSS', unit: 'MB', points: r.memory.rss.map((s): [number, number] => [s.t, s.rss / MB]) },
        { name: 'anonymous (heaps, arenas)', unit: 'MB', points: r.memory.rss.map((s): [number, number] => [s.t, s.anon / MB]) },
      ],
    },
  ];
}
