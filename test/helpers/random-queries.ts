import fc from 'fast-check';
import { HOUR_MS, METRICS, type Aggregation } from '../../catalog/catalog.ts';
import type { FilterInput, TimeseriesArgs } from '../../pipeline/normalize.ts';
import type { GranularityName } from '../../planner/query.ts';

/** Label values present in the fixture (SMALL in fixture.ts). */
export const LABEL_VALUES: Record<string, string[]> = {
  topic: ['orders', 'payments', 'clicks', 'nope'],
  partition: ['0', '1'],
  request_type: ['Produce', 'Fetch', 'Metadata', 'OffsetCommit'],
  consumer_group_id: ['billing-service', 'analytics'],
};

export interface RandomCase {
  readonly tenant: string | undefined; // undefined: internal (all tenants)
  readonly args: TimeseriesArgs;
}

const COARSE: GranularityName[] = ['PT1H', 'PT4H', 'PT6H', 'PT12H', 'P1D', 'ALL'];
const FINE: GranularityName[] = ['PT1M', 'PT5M', 'PT15M', 'PT30M'];

function labelFilter(labels: readonly string[]): fc.Arbitrary<FilterInput | undefined> {
  if (labels.length === 0) return fc.constant(undefined);
  const leaf = fc.constantFrom(...labels).chain((field) => {
    const values = LABEL_VALUES[field] ?? ['x'];
    return fc.oneof(
      { weight: 3, arbitrary: fc.record({ field: fc.constant(field), op: fc.constant('EQ' as const), value: fc.constantFrom(...values) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          field: fc.constant(field),
          op: fc.constantFrom('NEQ' as const, 'GT' as const, 'LTE' as const),
          value: fc.constantFrom(...values),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ field: fc.constant(field), op: fc.constant('IN' as const), values: fc.subarray(values, { minLength: 1 }) }),
      },
    );
  });
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: leaf.map((f) => ({ not: f })) },
    { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([a, b]) => ({ or: [a, b] })) },
  );
}

/**
 * Random queries over the fixture: mostly rollup-shaped (coarse, aligned,
 * before the watermark), with ragged edges, fresh tails past the watermarks,
 * non-additive aggregations and filters that force the exact-level rule.
 */
export function randomCase(dataStart: number, dataEnd: number, clustersOf: Record<string, string[]>): fc.Arbitrary<RandomCase> {
  const tenants = Object.keys(clustersOf);
  return fc
    .record({
      metric: fc.constantFrom(...METRICS),
      aggregation: fc.constantFrom<Aggregation>('SUM', 'MIN', 'MAX', 'AVG', 'COUNT'),
      coarse: fc.integer({ min: 0, max: 9 }).map((n) => n < 9),
      gCoarse: fc.constantFrom(...COARSE),
      gFine: fc.constantFrom(...FINE),
      startHour: fc.integer({ min: 0, max: 69 }),
      tail: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      raggedStart: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59 }) }),
      hours: fc.integer({ min: 1, max: 72 }),
      raggedEnd: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59 }) }),
      tenant: fc.option(fc.constantFrom(...tenants), { freq: 3 }),
      groupSeed: fc.integer({ min: 0, max: 15 }),
      // Dashboards mostly chart one cluster, or group by cluster.
      resourceMode: fc.constantFrom('one', 'one', 'one', 'group', 'group', 'all'),
      extra: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .chain((r) => labelFilter(r.metric.labels).map((labelF) => ({ r, labelF })))
    .map(({ r, labelF }) => {
      const granularity = r.coarse ? r.gCoarse : r.gFine;
      const start = dataStart + r.startHour * HOUR_MS + r.raggedStart * 60_000;
      // Most windows end before the hourly watermark (2h before the data end); some run into the fresh tail.
      const room = r.tail ? 72 - r.startHour : Math.max(1, 70 - r.startHour);
      const maxHours = r.coarse ? 1 + (r.hours % room) : Math.min(r.hours, 5);
      const end = Math.min(start + maxHours * HOUR_MS + r.raggedEnd * 60_000, dataEnd + HOUR_MS);
      const groupBy: string[] = r.metric.labels.filter((_, i) => (r.groupSeed >> i) & 1);
      const tenant = r.tenant ?? undefined;
      const clusters = tenant ? (clustersOf[tenant] ?? []) : Object.values(clustersOf).flat();
      const one = clusters[r.extra % clusters.length] ?? '';
      const resourceFilter: FilterInput | undefined =
        r.resourceMode === 'one'
          ? { field: 'resource_id', op: 'EQ', value: one }
          : tenant
            ? { field: 'resource_id', op: 'IN', values: clusters }
            : undefined;
      if (r.resourceMode === 'group') groupBy.push('resource_id');
      const parts = [resourceFilter, labelF].filter((f): f is FilterInput => f !== undefined);
      const filter = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { and: parts };
      const args: TimeseriesArgs = {
        metric: r.metric.name,
        aggregation: r.aggregation,
        granularity,
        interval: `${new Date(start).toISOString()}/${new Date(Math.max(end, start + 60_000)).toISOString()}`,
        filter: filter ?? null,
        groupBy,
        limit: 1000,
      };
      return { tenant, args };
    });
}
