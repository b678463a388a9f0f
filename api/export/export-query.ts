import { findMetric, METRICS, MINUTE_MS, type MetricDefinition } from '../../catalog/catalog.ts';
import { alignDown, intervalText } from '../../planner/interval.ts';
import type { TenantScope } from '../../planner/query.ts';
import type { ResourceDirectory } from '../../pipeline/resource-directory.ts';
import { runTimeseries, type TimeseriesContext } from '../../pipeline/timeseries-pipeline.ts';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';
import { openMetricsUnit, prometheusName, type GaugeFamily, type Sample } from './openmetrics.ts';

/**
 * What `GET /export` exports, computed through the timeseries pipeline (the
 * same normalize → authorize → plan → cache → store path as GraphQL): one
 * PT1M query per metric over the requested clusters, grouped by cluster and
 * every label of the metric, for one closed minute.
 */

/** Query parameters, as in the reference Metrics API (the underscore form suits Prometheus `params`). */
const CLUSTER_PARAMS = ['resource.kafka.id', 'resource_kafka_id'] as const;
const METRIC_PARAM = 'metric';
const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Series per pipeline page (its maximum), and the pages one metric may take. */
const PAGE_SIZE = 1000;
export const MAX_SERIES_PER_METRIC = 10_000;

export interface ExportRequest {
  readonly clusters: readonly string[];
  readonly metrics: readonly MetricDefinition[];
}

const badParameter = (parameter: string, message: string): StrataError => new StrataError(ErrorCode.BAD_REQUEST, message, { parameter });

/** Repeated and comma-separated values are the same thing: `a&x=b` = `x=a,b`. */
function valuesOf(search: URLSearchParams, name: string): string[] {
  const values = search
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim());
  if (values.some((v) => v === ''))
    throw badParameter(name, `Parameter "${name}" has an empty value; give ids separated by commas or repeat the parameter.`);
  return values;
}

/** Validates the query string: only known parameters, well-formed ids, known metrics, at most `maxClusters` clusters. */
export function parseExportRequest(search: URLSearchParams, maxClusters: number): ExportRequest {
  const known = new Set<string>([...CLUSTER_PARAMS, METRIC_PARAM]);
  for (const name of new Set(search.keys())) {
    if (!known.has(name)) throw badParameter(name, `Unknown parameter "${name}"; use ${[...known].join(', ')}.`);
  }
  const clusters = [...new Set(CLUSTER_PARAMS.flatMap((p) => valuesOf(search, p)))];
  if (clusters.length === 0) {
    throw new StrataError(
      ErrorCode.RESOURCE_FILTER_REQUIRED,
      'Name the cluster(s) to export: add ?resource.kafka.id=lkc-… (repeat it or separate ids with commas; list yours with the GraphQL `resources` query).',
    );
  }
  const malformed = clusters.find((id) => !CLUSTER_ID.test(id));
  if (malformed !== undefined)
    throw badParameter(
      'resource.kafka.id',
      `"${malformed.slice(0, 80)}" is not a cluster id (letters, digits, ".", "_", "-"; at most 64 characters), e.g. lkc-01c7c.`,
    );
  if (clusters.length > maxClusters) {
    throw new StrataError(
      ErrorCode.LIMIT_OUT_OF_RANGE,
      `${clusters.length} clusters were named; one export takes at most ${maxClusters}. Split them across several scrape jobs.`,
      {
        parameter: 'resource.kafka.id',
        clusters: clusters.length,
        max: maxClusters,
      },
    );
  }
  return { clusters, metrics: selectedMetrics(valuesOf(search, METRIC_PARAM)) };
}

/** Every catalog metric by default; a metric may be named as in the catalog or as exported. */
function selectedMetrics(names: readonly string[]): MetricDefinition[] {
  if (names.length === 0) return [...METRICS];
  const chosen = names.map((name) => {
    const metric = findMetric(name) ?? METRICS.find((m) => prometheusName(m.name) === name);
    if (!metric) {
      throw new StrataError(
        ErrorCode.UNKNOWN_METRIC,
        `Unknown metric "${name.slice(0, 200)}" in parameter "metric"; use a name of the catalog, e.g. "${METRICS[0]?.name}" (or its exported form "${prometheusName(METRICS[0]?.name ?? '')}").`,
        { parameter: METRIC_PARAM, metric: name.slice(0, 200) },
      );
    }
    return metric;
  });
  return [...new Map(chosen.map((m) => [m.name, m])).values()];
}

/**
 * The exported minute: the last one that closed at least `delayMs` before
 * now. Every scrape within that minute answers the same value with the same
 * timestamp (its start, as GraphQL points are stamped), so a scraper that
 * honours timestamps stores each minute once.
 */
export function exportWindow(now: number, delayMs: number): { readonly start: number; readonly end: number } {
  const end = alignDown(now - delayMs, MINUTE_MS);
  return { start: end - MINUTE_MS, end };
}

/**
 * Splits the named clusters into those the caller may read and the rest.
 * A foreign cluster and a missing one land in the same list and are treated
 * alike, so an export never tells them apart.
 */
export function visibleClusters(
  ids: readonly string[],
  scope: TenantScope,
  directory: ResourceDirectory,
): { readonly visible: string[]; readonly hidden: string[] } {
  const visible: string[] = [];
  const hidden: string[] = [];
  for (const id of ids) {
    const owner = directory.ownerOf(id);
    const readable = owner !== undefined && (scope.kind === 'all' || owner === scope.tenantId);
    (readable ? visible : hidden).push(id);
  }
  return { visible, hidden };
}

export interface MetricExport {
  readonly family: GaugeFamily;
  readonly truncated: boolean;
}

/**
 * One gauge family per metric. All first pages start in the same tick, so
 * every metric of the scrape shares one cache lookup and one store batch.
 */
export function exportFamilies(
  request: ExportRequest,
  clusters: readonly string[],
  window: { start: number; end: number },
  ctx: TimeseriesContext,
): Promise<MetricExport[]> {
  return Promise.all(request.metrics.map((metric) => exportMetric(metric, clusters, window, ctx)));
}

async function exportMetric(
  metric: MetricDefinition,
  clusters: readonly string[],
  window: { start: number; end: number },
  ctx: TimeseriesContext,
): Promise<MetricExport> {
  const samples: Sample[] = [];
  let after: string | null = null;
  for (;;) {
    const result = await runTimeseries(
      {
        metric: metric.name,
        granularity: 'PT1M',
        interval: intervalText(window),
        filter: { field: 'resource_id', op: 'IN', values: clusters },
        groupBy: ['resource_id', ...metric.labels],
        limit: PAGE_SIZE,
        after,
      },
      ctx,
    );
    for (const series of result.series) {
      const labels = labelsOf(series.labels, metric);
      for (const point of series.points) samples.push({ labels, value: point.value, timestampMs: point.timestamp });
    }
    after = result.pageInfo.endCursor;
    const truncated = result.pageInfo.hasNextPage && samples.length >= MAX_SERIES_PER_METRIC;
    if (!result.pageInfo.hasNextPage || truncated || after === null) return { family: familyOf(metric, samples), truncated };
  }
}

/** kafka_id first, then the metric's labels in catalog order; a label a series lacks is left out. */
function labelsOf(labels: readonly { readonly key: string; readonly value: string }[], metric: MetricDefinition): Record<string, string> {
  const byKey = new Map(labels.map((l) => [l.key, l.value]));
  const out: Record<string, string> = { kafka_id: byKey.get('resource_id') ?? '' };
  for (const label of metric.labels) {
    const value = byKey.get(label);
    if (value !== undefined) out[label] = value;
  }
  return out;
}

function familyOf(metric: MetricDefinition, samples: Sample[]): GaugeFamily {
  const kind = metric.kind === 'COUNTER' ? 'per-minute delta' : 'level';
  const unit = openMetricsUnit(metric.unit);
  return {
    name: prometheusName(metric.name),
    help: `${metric.description} (${metric.name}, ${kind}, ${metric.defaultAggregation} over the minute; unit ${metric.unit})`,
    ...(unit ? { unit } : {}),
    samples,
  };
}

/** Families describing the export itself: clusters it could not read, metrics cut at the series limit. */
export function statusFamilies(hidden: readonly string[], truncated: readonly string[], timestampMs: number): GaugeFamily[] {
  const families: GaugeFamily[] = [];
  if (hidden.length > 0) {
    families.push({
      name: 'strata_export_resource_access_error',
      help: '1 for each named cluster this token cannot export: it does not exist or is not yours.',
      samples: hidden.map((id) => ({ labels: { kafka_id: id }, value: 1, timestampMs })),
    });
  }
  if (truncated.length > 0) {
    families.push({
      name: 'strata_export_truncated',
      help: `1 for each metric cut at ${MAX_SERIES_PER_METRIC} series: export fewer clusters per scrape job.`,
      samples: truncated.map((metric) => ({ labels: { metric }, value: 1, timestampMs })),
    });
  }
  return families;
}
