import { OTLP } from '../../api/otlp/otlp-schema.ts';
import { LABEL_COLUMNS, type Catalog, type LabelColumn } from '../../catalog/catalog.ts';
import type { Temporality } from '../../ingest/ingest-point.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { Replica } from './edge-server.ts';

/*
 * A store's raw rows sent back through POST /v1/metrics as an OpenTelemetry
 * exporter would send them (test/helpers/ingested-copy.ts): counters as
 * monotonic Sums with a running total per series since one start time (so the
 * receiver must derive the per-minute deltas back), every fourth counter
 * series as delta Sums, gauges as Gauges at a time inside their minute;
 * labels as point attributes, the cluster as the resource's kafka.cluster.id.
 */

/** Concurrent senders (collectors), points per request, and every how many requests one is sent twice (a retry). */
const SENDERS = 4;
const POINTS_PER_REQUEST = 4000;
const RETRY_EVERY = 16;

/** Sends every raw row of `source` to the replica, as protobuf, from SENDERS senders at once; resolves once all are committed. */
export async function sendRawRows(source: DuckDbStore, catalog: Catalog, replica: Replica): Promise<{ points: number; seconds: number }> {
  const plan = await sendingPlan(source, catalog);
  const started = performance.now();
  await Promise.all(plan.senders.map((points) => send(replica, plan.series, points)));
  return { points: plan.senders.reduce((n, s) => n + s.length, 0), seconds: (performance.now() - started) / 1000 };
}

interface Series {
  readonly resourceId: string;
  readonly metric: string;
  readonly labels: readonly (readonly [LabelColumn, string])[];
  readonly temporality: Temporality;
  /** A cumulative run's start: one per series. */
  readonly startMs: number;
}

/** One point to send: its series, the minute its raw row is for, and the value sent (a running total for cumulative series). */
interface Point {
  readonly series: number;
  readonly minuteMs: number;
  readonly value: number;
}

interface SendingPlan {
  readonly series: readonly Series[];
  /** Each sender's points, in time order (as an exporter sends them). */
  readonly senders: readonly Point[][];
}

const LABEL_LIST = LABEL_COLUMNS.map((c) => `"${c}"`).join(', ');

type Column = (name: string, row: number) => unknown;

/** The source's raw rows as points: a series per (cluster, metric, labels), each cluster's series sent by one sender. */
async function sendingPlan(source: DuckDbStore, catalog: Catalog): Promise<SendingPlan> {
  const columns = await source.readColumns(
    `SELECT CAST(epoch_ms(__time) AS BIGINT) AS ms, resource_id, metric, ${LABEL_LIST}, value FROM telemetry_raw
     ORDER BY resource_id, metric, ${LABEL_COLUMNS.map((c) => `"${c}" NULLS FIRST`).join(', ')}, __time`,
    [],
  );
  const at: Column = (name, row) => columns[name]?.[row];
  const keyAt = (row: number): string => ['resource_id', 'metric', ...LABEL_COLUMNS].map((c) => at(c, row) ?? '\u0000').join('\u0001');
  const kinds = new Map(catalog.metrics.map((m) => [m.name, m.kind]));
  const clusters = (await source.listResources({ kind: 'all' })).map((r) => r.resourceId);
  const series: Series[] = [];
  const senders: Point[][] = Array.from({ length: SENDERS }, () => []);
  let key = '';
  let total = 0;
  for (let row = 0; row < (columns['ms']?.length ?? 0); row++) {
    if (keyAt(row) !== key) {
      key = keyAt(row);
      total = 0;
      series.push(seriesAt(at, row, kinds, series.length));
    }
    const one = series[series.length - 1] as Series;
    const value = Number(at('value', row));
    if (one.temporality !== 'gauge' && !Number.isSafeInteger(value))
      throw new Error(`counter value ${value} is not a whole number: a running total of it would not give it back exactly`);
    total += value;
    const sender = senders[Math.max(0, clusters.indexOf(one.resourceId)) % SENDERS] as Point[];
    sender.push({ series: series.length - 1, minuteMs: Number(at('ms', row)), value: one.temporality === 'cumulative' ? total : value });
  }
  for (const points of senders) points.sort((a, b) => a.minuteMs - b.minuteMs || a.series - b.series);
  return { series, senders };
}

/** The series whose first row is `row`: counters as cumulative Sums (every fourth counter series as a delta Sum), gauges as Gauges. */
function seriesAt(at: Column, row: number, kinds: ReadonlyMap<string, string>, index: number): Series {
  const metric = String(at('metric', row));
  const kind = kinds.get(metric);
  if (kind === undefined) throw new Error(`${metric} is not in the catalog: the receiver would refuse it`);
  const temporality: Temporality = kind === 'GAUGE' ? 'gauge' : index % 4 === 3 ? 'delta' : 'cumulative';
  const labels = LABEL_COLUMNS.flatMap((c): [LabelColumn, string][] => (at(c, row) === null ? [] : [[c, String(at(c, row))]]));
  return { resourceId: String(at('resource_id', row)), metric, labels, temporality, startMs: Number(at('ms', row)) };
}

/** A time inside the minute (never its first or last second), with nanoseconds, that varies by series and minute. */
function timeNs(p: Point): string {
  const offsetMs = 1000 + ((p.series * 7919 + (p.minuteMs / 60_000) * 104_729) % 58_000);
  return `${p.minuteMs + offsetMs}${String((p.series * 7919) % 1_000_000).padStart(6, '0')}`;
}

const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

function dataPoint(p: Point, s: Series): Record<string, unknown> {
  const start = s.temporality === 'cumulative' ? s.startMs : p.minuteMs;
  return {
    attributes: s.labels.map(([k, v]) => kv(k, v)),
    ...(s.temporality === 'gauge' ? {} : { startTimeUnixNano: `${start}000000` }),
    timeUnixNano: timeNs(p),
    ...(s.temporality === 'gauge' ? { asDouble: p.value } : { asInt: String(p.value) }),
  };
}

/** One ExportMetricsServiceRequest: a ResourceMetrics per cluster, a Metric per (name, temporality). */
function requestOf(points: readonly Point[], series: readonly Series[]): Uint8Array {
  const clusters = new Map<string, Map<string, { s: Series; dataPoints: Record<string, unknown>[] }>>();
  for (const p of points) {
    const s = series[p.series] as Series;
    const metrics = clusters.get(s.resourceId) ?? new Map<string, { s: Series; dataPoints: Record<string, unknown>[] }>();
    clusters.set(s.resourceId, metrics);
    const metric = metrics.get(`${s.metric}|${s.temporality}`) ?? { s, dataPoints: [] };
    metrics.set(`${s.metric}|${s.temporality}`, metric);
    metric.dataPoints.push(dataPoint(p, s));
  }
  const metricOf = ({ s, dataPoints }: { s: Series; dataPoints: Record<string, unknown>[] }) =>
    s.temporality === 'gauge'
      ? { name: s.metric, gauge: { dataPoints } }
      : { name: s.metric, sum: { dataPoints, aggregationTemporality: s.temporality === 'delta' ? 1 : 2, isMonotonic: true } };
  const body = {
    resourceMetrics: [...clusters].map(([id, metrics]) => ({
      resource: { attributes: [kv('service.name', 'ingested-copy'), kv('kafka.cluster.id', id)] },
      scopeMetrics: [{ metrics: [...metrics.values()].map(metricOf) }],
    })),
  };
  return OTLP.request.encode(OTLP.request.fromObject(body)).finish();
}

/** One sender: its points in requests of POINTS_PER_REQUEST, one after another, some sent twice. */
async function send(replica: Replica, series: readonly Series[], points: readonly Point[]): Promise<void> {
  const token = replica.token('collector');
  for (let i = 0, n = 0; i < points.length; i += POINTS_PER_REQUEST, n++) {
    const body = requestOf(points.slice(i, i + POINTS_PER_REQUEST), series);
    await post(replica, token, body);
    if (n % RETRY_EVERY === RETRY_EVERY - 1) await post(replica, token, body);
  }
}

/** Posts until committed: an overloaded queue (503, 429) is retried as an OTLP sender does; anything refused fails the build. */
async function post(replica: Replica, token: string, body: Uint8Array): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${replica.base}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` },
      body: new Uint8Array(body),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status === 200) {
      const answer = OTLP.response.toObject(OTLP.response.decode(bytes), { longs: String }) as {
        partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string };
      };
      if (answer.partialSuccess) throw new Error(`the receiver refused points: ${JSON.stringify(answer.partialSuccess)}`);
      return;
    }
    const status = OTLP.status.toObject(OTLP.status.decode(bytes)) as { message?: string };
    if ((response.status !== 503 && response.status !== 429) || attempt >= 50)
      throw new Error(`POST /v1/metrics: ${response.status} ${status.message ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)));
  }
}
