import { METRICS, metricsByName, type LabelColumn, type MetricDefinition } from '../catalog/catalog.ts';
import { type IngestPoint, type Labels, NS_PER_MS, type Temporality } from './ingest-point.ts';
import {
  AGGREGATION_TEMPORALITY,
  FLAG_NO_RECORDED_VALUE,
  type OtlpAnyValue,
  type OtlpKeyValue,
  type OtlpMetric,
  type OtlpMetricsRequest,
  type OtlpNumberDataPoint,
} from './otlp-request.ts';
import { Refusals } from './refusals.ts';

/** The resource attributes that name the cluster: OpenTelemetry's, then Confluent's. */
export const CLUSTER_ATTRIBUTES = ['kafka.cluster.id', 'resource.kafka.id'] as const;
/** Longest cluster id and label value stored; longer ones are refused, not cut (a cut value would name another series). */
export const MAX_VALUE_LENGTH = 256;

export interface MappingRules {
  /** The server's clock, in ms. */
  readonly now: number;
  /** How far ahead of `now` a point may be (clock skew). */
  readonly maxFutureMs: number;
  /** How late a point may be (STRATA_OTLP_MAX_LATENESS, at most raw retention): older ones are refused, so a billing day can close. */
  readonly maxLatenessMs: number;
  /** The catalog's metrics (default: the service's). */
  readonly metrics?: readonly MetricDefinition[];
}

export interface MappedRequest {
  readonly points: IngestPoint[];
  readonly refusals: Refusals;
}

type Cluster = { readonly id: string } | { readonly refused: string };
/** What one metric's points become: a temporality and the catalog's definition, or the reason all are refused. */
type MetricPlan = { readonly temporality: Temporality; readonly definition: MetricDefinition } | { readonly refused: string };

/**
 * Maps a decoded OTLP metrics request to points of catalog metrics and
 * clusters. Pure: nothing here knows who sent it (the writer checks the
 * cluster against the caller's scope) or where it goes. Every point not
 * mapped is counted in `refusals` with its reason, never dropped silently;
 * the only points skipped uncounted are those flagged as having no recorded
 * value (staleness markers, which carry no data).
 */
export function mapOtlpRequest(request: OtlpMetricsRequest, rules: MappingRules): MappedRequest {
  // By catalog name or by an OTel name the registry maps to it; points are stored under the catalog name.
  const byName = metricsByName(rules.metrics ?? METRICS);
  const out: MappedRequest = { points: [], refusals: new Refusals() };
  for (const resourceMetrics of request.resourceMetrics ?? []) {
    const cluster = clusterOf(resourceMetrics.resource?.attributes ?? []);
    for (const scope of resourceMetrics.scopeMetrics ?? [])
      for (const metric of scope.metrics ?? []) mapMetric(metric, cluster, byName, rules, out);
  }
  return out;
}

function mapMetric(
  metric: OtlpMetric,
  cluster: Cluster,
  byName: ReadonlyMap<string, MetricDefinition>,
  rules: MappingRules,
  out: MappedRequest,
): void {
  const name = metric.name ?? '';
  const unsupported = (metric.histogram ?? metric.exponentialHistogram ?? metric.summary)?.dataPoints?.length ?? 0;
  const kind = metric.histogram ? 'a Histogram' : metric.exponentialHistogram ? 'an ExponentialHistogram' : 'a Summary';
  out.refusals.add(`metric ${shown(name)} is ${kind}; only Gauge and Sum are stored`, unsupported);
  const points = (metric.gauge ?? metric.sum)?.dataPoints ?? [];
  if (points.length === 0) return;
  if ('refused' in cluster) {
    out.refusals.add(cluster.refused, points.length);
    return;
  }
  const plan = planOf(metric, byName.get(name));
  if ('refused' in plan) {
    out.refusals.add(plan.refused, points.length);
    return;
  }
  for (const point of points) {
    const mapped = mapPoint(point, cluster.id, plan, rules);
    if (typeof mapped === 'string') out.refusals.add(mapped);
    else if (mapped) out.points.push(mapped);
  }
}

/** The cluster a resource names, or why its points are refused. */
function clusterOf(attributes: readonly OtlpKeyValue[]): Cluster {
  const named = CLUSTER_ATTRIBUTES.map((key) => attributes.find((a) => a.key === key)?.value?.stringValue).filter(
    (v): v is string => v !== undefined && v !== '',
  );
  const [id] = named;
  if (id === undefined) return { refused: `the resource has no ${CLUSTER_ATTRIBUTES.join(' or ')} attribute naming its cluster` };
  if (named.some((other) => other !== id))
    return { refused: `the resource names two clusters (${CLUSTER_ATTRIBUTES.join(' and ')} differ); send one` };
  if (id.length > MAX_VALUE_LENGTH) return { refused: `a cluster id is longer than ${MAX_VALUE_LENGTH} characters` };
  return { id };
}

/** Which catalog kind an OTel metric type may feed: counters from monotonic Sums, gauges from Gauges and non-monotonic cumulative Sums. */
function planOf(metric: OtlpMetric, definition: MetricDefinition | undefined): MetricPlan {
  const name = shown(metric.name ?? '');
  if (!definition) return { refused: `metric ${name} is not in the catalog (see the metrics query for the names)` };
  const sum = metric.sum;
  const temporality = sum?.aggregationTemporality ?? AGGREGATION_TEMPORALITY.UNSPECIFIED;
  if (definition.kind === 'GAUGE') {
    if (!sum?.isMonotonic && (!sum || temporality === AGGREGATION_TEMPORALITY.CUMULATIVE)) return { temporality: 'gauge', definition };
    return { refused: `metric ${name} is a gauge; send it as a Gauge (or a non-monotonic cumulative Sum)` };
  }
  if (!sum?.isMonotonic) return { refused: `metric ${name} is a counter; send it as a monotonic Sum` };
  if (temporality === AGGREGATION_TEMPORALITY.DELTA) return { temporality: 'delta', definition };
  if (temporality === AGGREGATION_TEMPORALITY.CUMULATIVE) return { temporality: 'cumulative', definition };
  return { refused: `metric ${name} has aggregation temporality ${temporality}; send DELTA (1) or CUMULATIVE (2)` };
}

/** The point, the reason it is refused, or undefined for a point with no recorded value. */
function mapPoint(
  point: OtlpNumberDataPoint,
  resourceId: string,
  plan: Extract<MetricPlan, { temporality: Temporality }>,
  rules: MappingRules,
): IngestPoint | string | undefined {
  if (((point.flags ?? 0) & FLAG_NO_RECORDED_VALUE) !== 0) return undefined;
  const value = pointValue(point);
  if (typeof value === 'string') return value;
  if (plan.temporality !== 'gauge' && value < 0) return 'a monotonic Sum point is negative';
  const timeNs = nanos(point.timeUnixNano);
  const startNs = plan.temporality === 'gauge' ? 0n : nanos(point.startTimeUnixNano);
  const ms = Number(timeNs / NS_PER_MS);
  if (timeNs <= 0n) return 'a point has no time_unix_nano';
  if (ms > rules.now + rules.maxFutureMs) return `a point is more than ${rules.maxFutureMs / 1000} s ahead of the server's clock`;
  if (ms < rules.now - rules.maxLatenessMs)
    return `a point is older than the lateness window (${durationText(rules.maxLatenessMs)}, STRATA_OTLP_MAX_LATENESS)`;
  if (startNs > timeNs) return 'a point starts after its time (start_time_unix_nano > time_unix_nano)';
  const labels = labelsOf(point.attributes ?? [], plan.definition.labels);
  if (typeof labels === 'string') return labels;
  return { resourceId, metric: plan.definition.name, labels, temporality: plan.temporality, startNs, timeNs, value };
}

function pointValue(point: OtlpNumberDataPoint): number | string {
  if (point.asDouble !== undefined) {
    const value = Number(point.asDouble);
    return Number.isFinite(value) ? value : `a value is not finite (${value})`;
  }
  if (point.asInt === undefined) return 'a point has neither as_double nor as_int';
  const value = Number(point.asInt);
  // Past 2^53 a double no longer holds every integer: such a counter would not add up to the byte.
  return Number.isSafeInteger(value) ? value : 'an integer value is beyond 2^53 and cannot be stored exactly';
}

/** The attributes that are labels of the metric, as strings; others are dropped. */
function labelsOf(attributes: readonly OtlpKeyValue[], allowed: readonly LabelColumn[]): Labels | string {
  const labels: Partial<Record<LabelColumn, string>> = {};
  for (const { key, value } of attributes) {
    const label = allowed.find((l) => l === key);
    const text = label === undefined ? undefined : textOf(value);
    if (label === undefined || text === undefined) continue;
    if (text.length > MAX_VALUE_LENGTH) return `label ${label} has a value longer than ${MAX_VALUE_LENGTH} characters`;
    labels[label] = text;
  }
  return labels;
}

/** A scalar attribute as label text (ints in decimal, booleans as true/false); lists, maps and bytes are no label. */
function textOf(value: OtlpAnyValue | undefined): string | undefined {
  if (value?.stringValue !== undefined) return value.stringValue;
  if (value?.intValue !== undefined) return String(value.intValue);
  if (value?.boolValue !== undefined) return String(value.boolValue);
  if (value?.doubleValue !== undefined) return String(value.doubleValue);
  return undefined;
}

function nanos(text: string | undefined): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return 0n;
  return BigInt(text);
}

/** A window as a refusal names it: `48 h`, `90 min`, `30 s`. */
const durationText = (ms: number): string =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;

/** A metric name as the message quotes it: bounded, so a refusal cannot echo a megabyte back. */
const shown = (name: string): string => JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
