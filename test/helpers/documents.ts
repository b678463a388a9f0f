import { TIMESERIES_FIELDS } from './fixture.ts';

/** GraphQL documents shared by the end-to-end suites, so every store answers the same operations. */
const M = 'io.confluent.kafka.server/';

const PANELS: [string, string, string, string][] = [
  ['received_bytes', 'PT1H', 'now-24h/now', 'topic'],
  ['sent_bytes', 'PT1H', 'now-24h/now', 'topic'],
  ['received_records', 'PT5M', 'now-6h/now', ''],
  ['sent_records', 'PT5M', 'now-6h/now', ''],
  ['request_count', 'PT1H', 'now-24h/now', 'request_type'],
  ['retained_bytes', 'PT1H', 'now-48h/now', ''],
  ['retained_bytes', 'P1D', 'now-2d|d/now|d', 'topic'],
  ['active_connection_count', 'PT15M', 'now-12h/now', ''],
  ['partition_count', 'PT1H', 'now-24h/now', ''],
  ['consumer_lag_offsets', 'PT1M', 'now-1h/now', 'consumer_group_id'],
  ['received_bytes', 'ALL', 'now-7d/now', 'topic'],
  ['request_count', 'PT1M', 'now-1h/now', ''],
];

/** A 12-panel dashboard for one cluster: one operation, twelve aliased timeseries fields. */
export function dashboardDocument(cluster: string): string {
  const fields = PANELS.map(([metric, granularity, interval, group], i) => {
    const groupBy = group ? `, groupBy: ["${group}"]` : '';
    const agg = metric === 'retained_bytes' ? ', aggregation: MAX' : '';
    return `p${i}: timeseries(query: { metric: "${M}${metric}", granularity: ${granularity}, interval: "${interval}"${agg}${groupBy},
      filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { ${TIMESERIES_FIELDS} }`;
  });
  return `query Dashboard { ${fields.join('\n')} }`;
}

/** Cross-tenant internal panels: top-N clusters, a gauge across clusters, AVG at exact levels. */
export const INTERNAL_DOCUMENT = `{
  top: timeseries(query: { metric: "${M}request_count", granularity: ALL, interval: "now-1d/now", groupBy: ["resource_id"], orderBy: { by: VALUE, direction: DESC }, limit: 3 }) { ${TIMESERIES_FIELDS} }
  fleet: timeseries(query: { metric: "${M}retained_bytes", aggregation: MAX, granularity: PT6H, interval: "now-2d/now" }) { ${TIMESERIES_FIELDS} }
  lag: timeseries(query: { metric: "${M}consumer_lag_offsets", aggregation: AVG, granularity: P1D, interval: "now-3d|d/now", groupBy: ["resource_id", "consumer_group_id"] }) { ${TIMESERIES_FIELDS} }
}`;

export const USAGE_DOCUMENT = `{ usage(period: "now-3d|d/now|d", first: 50) {
  rows { tenantId resourceId day ingressBytes egressBytes storageByteHours partitionHours status } pageInfo { hasNextPage endCursor } } }`;

/** The data of a response without the per-operation counters (which differ by cache state, by design). */
export function withoutStats(data: Record<string, unknown> | null | undefined): unknown {
  return JSON.parse(
    JSON.stringify(data ?? null, (key, value: unknown) => (key === 'operation' || key === 'cacheHits' ? undefined : value)),
  );
}
