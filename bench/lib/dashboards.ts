import type { GranularityName } from '../../planner/query.ts';

/**
 * Dashboards as users refresh them: the 12 panels of test/helpers/documents.ts
 * (same metrics, groupings and fields), all on one time range picked from the
 * usual "last 1h / 6h / 24h / 7d", at a granularity that range allows.
 */
const M = 'io.confluent.kafka.server/';
const PANELS: [string, string][] = [
  ['received_bytes', 'topic'],
  ['sent_bytes', 'topic'],
  ['received_records', ''],
  ['sent_records', ''],
  ['request_count', 'request_type'],
  ['retained_bytes', ''],
  ['retained_bytes', 'topic'],
  ['active_connection_count', ''],
  ['partition_count', ''],
  ['consumer_lag_offsets', 'consumer_group_id'],
  ['received_bytes', 'topic'],
  ['request_count', ''],
];

export interface TimeRange {
  readonly interval: string;
  readonly granularity: GranularityName;
  /** Share of refreshes on this range. */
  readonly weight: number;
}

export const RANGES: readonly TimeRange[] = [
  { interval: 'now-1h/now', granularity: 'PT1M', weight: 0.4 },
  { interval: 'now-6h/now', granularity: 'PT5M', weight: 0.3 },
  { interval: 'now-24h/now', granularity: 'PT1H', weight: 0.2 },
  { interval: 'now-7d/now', granularity: 'PT6H', weight: 0.1 },
];

const FIELDS = `series { labels { key value } points { timestamp value } }
  pageInfo { hasNextPage endCursor totalSeries }
  plan { fragments { source interval level reason pieces cacheHits } operation { storeQueries cacheHits cacheMisses } }`;

/** One dashboard refresh as a GraphQL POST body. Panel 10 totals the range (ALL), as a single-stat panel does. */
export function dashboardBody(cluster: string, range: TimeRange): string {
  const fields = PANELS.map(([metric, group], i) => {
    const groupBy = group ? `, groupBy: ["${group}"]` : '';
    const agg = metric === 'retained_bytes' ? ', aggregation: MAX' : '';
    const granularity = i === 10 ? 'ALL' : range.granularity;
    return `p${i}: timeseries(query: { metric: "${M}${metric}", granularity: ${granularity}, interval: "${range.interval}"${agg}${groupBy},
      filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { ${FIELDS} }`;
  });
  return JSON.stringify({ query: `query Dashboard { ${fields.join('\n')} }` });
}
