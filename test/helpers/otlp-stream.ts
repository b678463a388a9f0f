import fc from 'fast-check';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../catalog/catalog.ts';
import type { Labels } from '../../ingest/ingest-point.ts';
import { END } from './fixture.ts';

/**
 * Random OTLP telemetry streams for property tests of the receiver, and
 * their oracle. The generator knows what each point truly adds (it builds a
 * counter's cumulative values from increments it drew), so the oracle is the
 * sum of those increments per minute, and a gauge's level the value of a
 * minute's latest point: computed from the stream itself, not from the
 * derivation code under test (ingest/derive-raw-rows.ts). Only resets the
 * documented rule can see are drawn: a new start time, or a value lower
 * than the run's previous one (a reset to a higher value is invisible).
 */
const M = 'io.confluent.kafka.server/';
/** A UTC midnight: the day before it and the day after are both in play. */
export const MIDNIGHT = END;
/** The server's clock: points older than NOW - 48 h are refused, and the hour from MIDNIGHT + 1 h stays unbuilt. */
export const NOW = MIDNIGHT + 90 * MINUTE_MS;
/** The minutes points fall in: across two midnights and an hour boundary (all built rollup buckets), and the unbuilt fresh tail. */
export const SLOTS: readonly number[] = [-1442, -1441, -1440, -1439, -182, -181, -180, -179, -2, -1, 0, 1, 60, 61, 62, 63].map(
  (m) => MIDNIGHT + m * MINUTE_MS,
);

export type Kind = 'cumulative' | 'delta' | 'gauge';

/** The series a cluster may have; every metric is a usage metric too (catalog USAGE_COLUMNS). */
const TEMPLATES: readonly { readonly metric: string; readonly labels: Labels; readonly gauge: boolean }[] = [
  { metric: `${M}received_bytes`, labels: { topic: 'orders' }, gauge: false },
  { metric: `${M}received_bytes`, labels: { topic: 'payments' }, gauge: false },
  { metric: `${M}sent_bytes`, labels: { topic: 'orders' }, gauge: false },
  { metric: `${M}retained_bytes`, labels: { topic: 'orders', partition: '0' }, gauge: true },
  { metric: `${M}retained_bytes`, labels: { topic: 'orders', partition: '1' }, gauge: true },
  { metric: `${M}partition_count`, labels: {}, gauge: true },
];

/** One point of the stream, with what it truly adds to its minute (a counter) or its level (a gauge). */
export interface StreamPoint {
  /** 0 or 1: the run's first or second cluster; 2: a cluster nobody registered (refused). */
  readonly cluster: number;
  readonly metric: string;
  readonly labels: Labels;
  readonly kind: Kind;
  readonly startNs: bigint;
  readonly timeNs: bigint;
  readonly value: number;
  /** Counters: the increment the generator drew. Gauges: the level. */
  readonly truth: number;
  /** Refused by the receiver on purpose (too old, too far ahead, unregistered cluster): in no answer. */
  readonly refused: boolean;
}

const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

const sampleArb = fc.record({
  slot: fc.nat(SLOTS.length - 1),
  second: fc.nat(59),
  nanos: fc.oneof(fc.constant(0), fc.nat(999_999_999)),
  action: fc.constantFrom('add', 'add', 'add', 'restart', 'lower', 'resume'),
  amount: fc.oneof(fc.nat(1000), fc.nat(2 ** 40)),
  fraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});
type Sample = typeof sampleArb extends fc.Arbitrary<infer T> ? T : never;

const seriesArb = fc.record({
  template: fc.nat(TEMPLATES.length - 1),
  cluster: fc.nat(1),
  cumulative: fc.boolean(),
  /** How long before its first point a cumulative run started (its whole first value counts in that point's minute). */
  startBeforeS: fc.nat(3 * 86_400),
  samples: fc.uniqueArray(sampleArb, { selector: (s) => s.slot * 60 + s.second, minLength: 1, maxLength: 8 }),
});
type SeriesDraw = typeof seriesArb extends fc.Arbitrary<infer T> ? T : never;

/** A few series of one tenant's two clusters, and optionally the points the receiver must refuse. */
export const streamArb = fc
  .record({
    series: fc.uniqueArray(seriesArb, { selector: (s) => s.template * 2 + s.cluster, minLength: 1, maxLength: 6 }),
    refusals: fc.boolean(),
  })
  .map(({ series, refusals }) => [...series.flatMap(pointsOf), ...(refusals ? REFUSED : [])]);

function pointsOf(draw: SeriesDraw): StreamPoint[] {
  const template = TEMPLATES[draw.template] as (typeof TEMPLATES)[number];
  const kind: Kind = template.gauge ? 'gauge' : draw.cumulative ? 'cumulative' : 'delta';
  const timed = draw.samples
    .map((s) => ({ s, timeNs: ns((SLOTS[s.slot] ?? 0) + s.second * 1000) + BigInt(s.nanos) }))
    .sort((a, b) => (a.timeNs < b.timeNs ? -1 : 1));
  const base = { cluster: draw.cluster, metric: template.metric, labels: template.labels, kind, refused: false };
  // Delta and gauge points: each its own; the start only makes a delta point's identity.
  if (kind !== 'cumulative')
    return timed.map(({ s, timeNs }) => ({ ...base, startNs: timeNs - 1n, timeNs, value: s.amount, truth: s.amount }));
  return cumulativePoints(timed, (timed[0]?.timeNs ?? 0n) - BigInt(draw.startBeforeS) * 1_000_000_000n).map((p) => ({ ...base, ...p }));
}

type Timed = { readonly s: Sample; readonly timeNs: bigint };
type Cumulative = Pick<StreamPoint, 'startNs' | 'timeNs' | 'value' | 'truth'>;

/**
 * A cumulative series as runs of one start time each. A point adds to the
 * current run; or starts a new run (a restart: the new start falls after the
 * previous point); or goes back to the run before (two exporters of one
 * series, or a restarted one's late flush); or, with a value lower than its
 * run's last, is a reset the sender did not mark. Each run counts on its own.
 */
function cumulativePoints(timed: readonly Timed[], firstStartNs: bigint): Cumulative[] {
  const runs: { startNs: bigint; value: number }[] = [];
  let previousNs = 0n;
  return timed.map(({ s, timeNs }) => {
    let run = runs[runs.length - 1];
    let truth = s.amount;
    if (!run || s.action === 'restart') {
      run = { startNs: run ? previousNs + 1n + (timeNs - previousNs - 1n) / 2n : firstStartNs, value: s.amount };
      runs.push(run);
    } else if (s.action === 'lower' && run.value > 0) {
      run.value = Math.floor(s.fraction * run.value);
      truth = run.value;
    } else {
      if (s.action === 'resume' && runs.length > 1) run = runs.splice(runs.length - 2, 1)[0] ?? run;
      if (run !== runs[runs.length - 1]) runs.push(run);
      run.value += s.amount;
    }
    previousNs = timeNs;
    return { startNs: run.startNs, timeNs, value: run.value, truth };
  });
}

/** Points every request carrying them gets refused for: older than the lateness window, too far ahead, an unregistered cluster. */
const REFUSED: readonly StreamPoint[] = [
  { time: MIDNIGHT - 47 * HOUR_MS, cluster: 0 },
  { time: NOW + 6 * MINUTE_MS, cluster: 1 },
  { time: MIDNIGHT + 30_000, cluster: 2 },
].map(({ time, cluster }) => ({
  cluster,
  metric: `${M}received_bytes`,
  labels: { topic: 'refused' },
  kind: 'delta',
  startNs: ns(time) - 1_000_000_000n,
  timeNs: ns(time),
  value: 99,
  truth: 99,
  refused: true,
}));

/** One per-minute value of a series (telemetry_raw's row, as the oracle has it). */
export interface MinuteRow {
  readonly cluster: number;
  readonly metric: string;
  readonly labels: Labels;
  readonly minuteMs: number;
  readonly value: number;
}

/** The oracle's raw rows: counters sum their minute's true increments; a gauge's minute is its latest point's level. */
export function oracleRows(points: readonly StreamPoint[]): MinuteRow[] {
  const rows = new Map<string, MinuteRow & { latestNs: bigint }>();
  for (const p of points) {
    if (p.refused) continue;
    const minuteMs = Math.floor(Number(p.timeNs / 1_000_000n) / MINUTE_MS) * MINUTE_MS;
    const key = JSON.stringify([p.cluster, p.metric, p.labels, minuteMs]);
    const row = rows.get(key);
    if (!row) rows.set(key, { cluster: p.cluster, metric: p.metric, labels: p.labels, minuteMs, value: p.truth, latestNs: p.timeNs });
    else if (p.kind !== 'gauge') rows.set(key, { ...row, value: row.value + p.truth });
    else if (p.timeNs > row.latestNs) rows.set(key, { ...row, value: p.truth, latestNs: p.timeNs });
  }
  return [...rows.values()].map(({ latestNs: _, ...row }) => row);
}

export type Aggregation = 'SUM' | 'MIN' | 'MAX' | 'AVG';

export interface SeriesQuery {
  readonly metric: string;
  readonly aggregation: Aggregation;
  readonly bucketMs: number;
  readonly groupBy: readonly string[];
  readonly start: number;
  readonly end: number;
}

/** A series as compared: its labels (sorted by key) and its [bucket start ms, value] points. */
export type SeriesAnswer = Record<string, [number, number][]>;

/** The documented two steps: SUM across a group's series per minute, then the aggregation over each bucket's minutes with data. */
export function oracleSeries(rows: readonly MinuteRow[], q: SeriesQuery, clusterIds: readonly string[]): SeriesAnswer {
  const perMinute = new Map<string, Map<number, number>>();
  for (const r of rows) {
    if (r.metric !== q.metric || r.minuteMs < q.start || r.minuteMs >= q.end) continue;
    const labels = q.groupBy.map((k): [string, string] => [
      k,
      k === 'resource_id' ? (clusterIds[r.cluster] ?? '') : (r.labels[k as keyof Labels] ?? ''),
    ]);
    const group = JSON.stringify(labels.sort((a, b) => a[0].localeCompare(b[0])));
    const minutes = perMinute.get(group) ?? new Map<number, number>();
    minutes.set(r.minuteMs, (minutes.get(r.minuteMs) ?? 0) + r.value);
    perMinute.set(group, minutes);
  }
  const answer: SeriesAnswer = {};
  for (const [group, minutes] of perMinute) {
    const buckets = new Map<number, number[]>();
    for (const [minute, value] of minutes) {
      const bucket = Math.floor(minute / q.bucketMs) * q.bucketMs;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), value]);
    }
    answer[group] = [...buckets].sort((a, b) => a[0] - b[0]).map(([bucket, values]) => [bucket, aggregate(q.aggregation, values)]);
  }
  return answer;
}

function aggregate(aggregation: Aggregation, values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  if (aggregation === 'SUM') return sum;
  if (aggregation === 'AVG') return sum / values.length;
  return aggregation === 'MIN' ? Math.min(...values) : Math.max(...values);
}

/** A usage row as compared (BigInt fields as their decimal strings). */
export interface UsageAnswer {
  readonly resourceId: string;
  readonly day: string;
  readonly ingressBytes: string;
  readonly egressBytes: string;
  readonly storageByteHours: string;
  readonly partitionHours: string;
  readonly status: string;
}

const USAGE_OF: Readonly<Record<string, 'ingress' | 'egress' | 'storage' | 'partitions'>> = {
  [`${M}received_bytes`]: 'ingress',
  [`${M}sent_bytes`]: 'egress',
  [`${M}retained_bytes`]: 'storage',
  [`${M}partition_count`]: 'partitions',
};

/**
 * Billing's figures per cluster and UTC day: bytes summed, gauges' minutes
 * summed then turned into hours rounded half up (docs/guides/billing.md).
 * Every day here is within the lateness window of NOW, so PROVISIONAL.
 */
export function oracleUsage(rows: readonly MinuteRow[], clusterIds: readonly string[]): UsageAnswer[] {
  const days = new Map<string, Record<'ingress' | 'egress' | 'storage' | 'partitions', bigint>>();
  for (const r of rows) {
    const column = USAGE_OF[r.metric];
    if (!column) continue;
    const day = new Date(Math.floor(r.minuteMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
    const key = `${day}|${clusterIds[r.cluster]}`;
    const sums = days.get(key) ?? { ingress: 0n, egress: 0n, storage: 0n, partitions: 0n };
    sums[column] += BigInt(r.value);
    days.set(key, sums);
  }
  const hours = (minutes: bigint): string => String((minutes + 30n) / 60n);
  return [...days]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([key, s]) => {
      const [day = '', resourceId = ''] = key.split('|');
      const [ingressBytes, egressBytes, storageByteHours, partitionHours] = [
        `${s.ingress}`,
        `${s.egress}`,
        hours(s.storage),
        hours(s.partitions),
      ];
      return { resourceId, day, ingressBytes, egressBytes, storageByteHours, partitionHours, status: 'PROVISIONAL' };
    });
}

/** How a request is sent: encoding, gzip, whose token, which resource attribute names the cluster, how values and gauges are typed. */
export const styleArb = fc.record({
  encoding: fc.constantFrom('json' as const, 'protobuf' as const),
  gzip: fc.boolean(),
  token: fc.constantFrom('collector' as const, 'customer' as const),
  clusterKey: fc.constantFrom('kafka.cluster.id', 'resource.kafka.id'),
  asDouble: fc.boolean(),
  gaugeAsSum: fc.boolean(),
});
export type Style = typeof styleArb extends fc.Arbitrary<infer T> ? T : never;
export const STYLE: Style = {
  encoding: 'json',
  gzip: false,
  token: 'collector',
  clusterKey: 'kafka.cluster.id',
  asDouble: false,
  gaugeAsSum: false,
};

const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** An ExportMetricsServiceRequest: a resource per cluster, a metric per name and kind. */
export function otlpBody(points: readonly StreamPoint[], style: Style, ids: readonly string[]): object {
  const clusters = [...new Set(points.map((p) => p.cluster))];
  return {
    resourceMetrics: clusters.map((c) => {
      const own = points.filter((p) => p.cluster === c);
      const metrics = metricsOf(own, style);
      return {
        resource: { attributes: [kv('service.name', 'property'), kv(style.clusterKey, ids[c] ?? 'lkc-unregistered')] },
        scopeMetrics: [{ metrics }],
      };
    }),
  };
}

function metricsOf(points: readonly StreamPoint[], style: Style): object[] {
  const groups = new Map<string, StreamPoint[]>();
  for (const p of points) groups.set(`${p.metric}|${p.kind}`, [...(groups.get(`${p.metric}|${p.kind}`) ?? []), p]);
  return [...groups.values()].map((group) => {
    const { metric: name, kind } = group[0] as StreamPoint;
    const dataPoints = group.map((p) => ({
      // An attribute no label column holds: dropped, so the point is the same point whatever the sender adds.
      attributes: [...Object.entries(p.labels).map(([k, v]) => kv(k, v ?? '')), kv('host', `h-${group.length}`)],
      startTimeUnixNano: String(p.startNs),
      timeUnixNano: String(p.timeNs),
      ...(style.asDouble ? { asDouble: p.value } : { asInt: String(p.value) }),
    }));
    if (kind === 'gauge')
      return style.gaugeAsSum
        ? { name, sum: { dataPoints, aggregationTemporality: 2, isMonotonic: false } }
        : { name, gauge: { dataPoints } };
    return { name, sum: { dataPoints, aggregationTemporality: kind === 'delta' ? 1 : 2, isMonotonic: true } };
  });
}
