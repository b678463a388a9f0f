import type { Aggregation, GroupKey } from '../catalog/catalog.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import type { CanonicalQuery, PartialRow, PartialState } from '../planner/query.ts';

export interface Point {
  readonly timestamp: number;
  readonly value: number;
}

export interface Series {
  readonly labels: readonly { readonly key: GroupKey; readonly value: string }[];
  readonly points: readonly Point[];
}

export interface MergedResult {
  readonly series: Series[];
  /** Points across the page's series. */
  readonly points: number;
  readonly totalSeries: number;
  readonly nextOffset: number | undefined;
}

/** Partial states of disjoint time ranges combine exactly. */
export function mergeState(into: PartialState, add: PartialState): void {
  into.sum += add.sum;
  into.samples += add.samples;
  into.min = into.min === null ? add.min : add.min === null ? into.min : Math.min(into.min, add.min);
  into.max = into.max === null ? add.max : add.max === null ? into.max : Math.max(into.max, add.max);
  into.minutes = into.minutes === null || add.minutes === null ? null : into.minutes + add.minutes;
}

export function finalize(state: PartialState, aggregation: Aggregation): number | null {
  switch (aggregation) {
    case 'SUM':
      return state.sum;
    case 'COUNT':
      return state.samples;
    case 'MIN':
      return state.min;
    case 'MAX':
      return state.max;
    case 'AVG':
      return state.minutes ? state.sum / state.minutes : null;
  }
}

interface Group {
  readonly labels: Series['labels'];
  readonly sortKey: string[];
  readonly buckets: Map<number, PartialState>;
}

/**
 * Merges the rows of every piece into series: group by the group-by labels,
 * merge each bucket's partial states, finalize with the aggregation, then
 * order and page the series.
 */
export function mergeRows(query: CanonicalQuery, rowSets: readonly (readonly PartialRow[])[], maxPoints: number): MergedResult {
  const groups = new Map<string, Group>();
  // Rows straight from a store share one labels object per label tuple (store/piece-batch.ts): found by identity first.
  const byLabels = new Map<PartialRow['labels'], Group>();
  const allBucket = query.granularity === 'ALL' ? query.interval.start : undefined;
  for (const rows of rowSets) {
    for (const row of rows) {
      let group = byLabels.get(row.labels);
      if (!group) {
        group = groupOf(groups, query.groupBy, row.labels);
        byLabels.set(row.labels, group);
      }
      const bucket = allBucket ?? row.bucket;
      const state = group.buckets.get(bucket);
      if (state) mergeState(state, row);
      else group.buckets.set(bucket, { sum: row.sum, min: row.min, max: row.max, minutes: row.minutes, samples: row.samples });
    }
  }
  const ordered = order([...groups.values()], query);
  const page = ordered.slice(query.offset, query.offset + query.limit);
  const series = page.map((g) => toSeries(g, query.aggregation));
  const points = series.reduce((n, s) => n + s.points.length, 0);
  if (points > maxPoints) {
    throw new StrataError(
      ErrorCode.POINTS_LIMIT_EXCEEDED,
      `The query returns ${points} points, over the limit of ${maxPoints}. Use a coarser granularity, a shorter interval or a lower limit.`,
      { points, limit: maxPoints },
    );
  }
  const next = query.offset + query.limit;
  return { series, points, totalSeries: ordered.length, nextOffset: next < ordered.length ? next : undefined };
}

function groupOf(groups: Map<string, Group>, groupBy: readonly GroupKey[], labels: PartialRow['labels']): Group {
  const values = groupBy.map((k) => labels[k] ?? '');
  // One label (the common case) is its own key; several are encoded without collisions.
  const id = values.length === 1 ? (values[0] ?? '') : JSON.stringify(values);
  let group = groups.get(id);
  if (!group) {
    group = { labels: groupBy.map((key, i) => ({ key, value: values[i] ?? '' })), sortKey: values, buckets: new Map() };
    groups.set(id, group);
  }
  return group;
}

function toSeries(group: Group, aggregation: Aggregation): Series {
  const points: Point[] = [];
  for (const [timestamp, state] of [...group.buckets.entries()].sort((a, b) => a[0] - b[0])) {
    const value = finalize(state, aggregation);
    if (value !== null) points.push({ timestamp, value });
  }
  return { labels: group.labels, points };
}

function order(groups: Group[], query: CanonicalQuery): Group[] {
  const byLabels = (a: Group, b: Group): number => compareTuples(a.sortKey, b.sortKey);
  const sign = query.orderBy.direction === 'ASC' ? 1 : -1;
  if (query.orderBy.by === 'LABELS') return groups.sort((a, b) => sign * byLabels(a, b));
  const rank = new Map(groups.map((g) => [g, rankValue(g, query.aggregation)]));
  return groups.sort((a, b) => {
    const va = rank.get(a) ?? null;
    const vb = rank.get(b) ?? null;
    if (va === vb) return byLabels(a, b);
    if (va === null) return 1;
    if (vb === null) return -1;
    return sign * (va - vb) || byLabels(a, b);
  });
}

/** Ranking value of a series: its aggregate over the whole interval. */
function rankValue(group: Group, aggregation: Aggregation): number | null {
  const total: PartialState = { sum: 0, min: null, max: null, minutes: 0, samples: 0 };
  for (const state of group.buckets.values()) mergeState(total, state);
  return finalize(total, aggregation);
}

function compareTuples(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
