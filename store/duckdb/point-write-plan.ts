import { type IngestPoint, minuteOf, seriesKey, type Temporality } from '../../ingest/ingest-point.ts';
import type { PointWrite, WriteResult } from '../../ingest/point-writer.ts';
import type { SeriesEntry, SeriesHead, SeriesTable } from './series-table.ts';

/** A point as ingest_points stores it: its series by id, and what it adds to its minute. */
export interface PointRow {
  readonly seriesId: number;
  readonly temporality: Temporality;
  readonly startNs: bigint;
  readonly timeNs: bigint;
  readonly value: number;
  readonly increment: number;
}

/** A raw row of a series-minute; `replaces` when the row is in telemetry_raw already (the series' latest minute). */
export interface RawRow {
  readonly series: SeriesEntry;
  readonly minuteMs: number;
  readonly value: number;
  readonly replaces: boolean;
}

/**
 * What one group commit does. Series whose new points all come after their
 * head (the usual case: senders export in time order) go the fast way: the
 * writer appends their points and rows as planned here. The others (a
 * repeat, a point out of order, an older run resumed) go the SQL way
 * (duckdb-point-sql.ts), which reads the stored points they need.
 */
export interface WritePlan {
  readonly results: WriteResult[];
  /** Series seen for the first time: the writer stores them before their points. */
  readonly newSeries: SeriesEntry[];
  readonly fastPoints: PointRow[];
  readonly fastRows: RawRow[];
  readonly fastHeads: Map<SeriesEntry, SeriesHead>;
  /** Each identity once (the larger value of a repeat), without increments: SQL counts them. */
  readonly slowPoints: Omit<PointRow, 'increment'>[];
  readonly slowSeries: SeriesEntry[];
}

/** Splits a group of writes into the fast and the SQL ways; `tenantOf` is the cluster registry. */
export function planPointWrite(
  writes: readonly PointWrite[],
  tenantOf: ReadonlyMap<string, string>,
  table: SeriesTable,
  maxSeriesPerTenant = Number.POSITIVE_INFINITY,
): WritePlan {
  const plan: WritePlan = {
    results: [],
    newSeries: [],
    fastPoints: [],
    fastRows: [],
    fastHeads: new Map(),
    slowPoints: [],
    slowSeries: [],
  };
  const bySeries = new Map<string, { entry: SeriesEntry; points: IngestPoint[] } | null>();
  const opened = new Map<string, number>();
  for (const write of writes) {
    const refused = new Map<string, number>();
    let limited = 0;
    for (const point of write.points) {
      const tenantId = tenantOf.get(point.resourceId);
      if (tenantId === undefined || (write.scope.kind === 'tenant' && write.scope.tenantId !== tenantId)) {
        refused.set(point.resourceId, (refused.get(point.resourceId) ?? 0) + 1);
        continue;
      }
      const key = seriesKey(point);
      let series = bySeries.get(key);
      if (series === undefined) {
        const entry = table.get(key) ?? openSeries(plan, table, { key, point, tenantId, opened, limit: maxSeriesPerTenant });
        series = entry ? { entry, points: [] } : null;
        bySeries.set(key, series);
      }
      if (series) series.points.push(point);
      else limited++;
    }
    plan.results.push(resultOf(write, refused, limited, maxSeriesPerTenant));
  }
  for (const series of bySeries.values()) if (series) planSeries(plan, series.entry, uniqueInOrder(series.points));
  return plan;
}

function resultOf(write: PointWrite, refused: ReadonlyMap<string, number>, limited: number, limit: number): WriteResult {
  const count = [...refused.values()].reduce((a, b) => a + b, 0);
  const result = { accepted: write.points.length - count - limited, refused: count, refusedClusters: [...refused.keys()].sort() };
  return limited > 0 ? { ...result, overSeriesLimit: { points: limited, limit } } : result;
}

interface Opening {
  readonly key: string;
  readonly point: IngestPoint;
  readonly tenantId: string;
  /** New series per tenant in this plan so far. */
  readonly opened: Map<string, number>;
  readonly limit: number;
}

/** A new series, or undefined when its tenant has as many as it may: the writer keeps every series' head in memory. */
function openSeries(plan: WritePlan, table: SeriesTable, { key, point, tenantId, opened, limit }: Opening): SeriesEntry | undefined {
  const count = opened.get(tenantId) ?? 0;
  if (table.countOf(tenantId) + count >= limit) return undefined;
  opened.set(tenantId, count + 1);
  const entry = {
    id: table.allocateId(),
    key,
    tenantId,
    resourceId: point.resourceId,
    metric: point.metric,
    labels: point.labels,
    head: null,
  };
  plan.newSeries.push(entry);
  return entry;
}

const identityOrder = (a: IngestPoint, b: IngestPoint): number =>
  a.timeNs !== b.timeNs
    ? a.timeNs < b.timeNs
      ? -1
      : 1
    : a.temporality !== b.temporality
      ? a.temporality < b.temporality
        ? -1
        : 1
      : a.startNs !== b.startNs
        ? a.startNs < b.startNs
          ? -1
          : 1
        : a.value - b.value;

/** A series' points by time, each identity once: the last of equal identities is the larger value (the rule's choice). */
function uniqueInOrder(points: IngestPoint[]): IngestPoint[] {
  points.sort(identityOrder);
  const unique: IngestPoint[] = [];
  for (const p of points) {
    const last = unique[unique.length - 1];
    if (last && last.timeNs === p.timeNs && last.temporality === p.temporality && last.startNs === p.startNs) unique[unique.length - 1] = p;
    else unique.push(p);
  }
  return unique;
}

function planSeries(plan: WritePlan, entry: SeriesEntry, points: readonly IngestPoint[]): void {
  const fast = fastWay(entry, points);
  if (!fast) {
    plan.slowSeries.push(entry);
    for (const p of points)
      plan.slowPoints.push({ seriesId: entry.id, temporality: p.temporality, startNs: p.startNs, timeNs: p.timeNs, value: p.value });
    return;
  }
  plan.fastPoints.push(...fast.points);
  plan.fastRows.push(...fast.rows);
  plan.fastHeads.set(entry, fast.head);
}

/**
 * The series' points, rows and head when every point comes after the
 * series' head: then no stored point is a repeat of one, nor comes after
 * one, and a cumulative point's previous point is its run's head. Null when
 * a point does not (the SQL way then counts the series' points).
 */
function fastWay(entry: SeriesEntry, points: readonly IngestPoint[]): { points: PointRow[]; rows: RawRow[]; head: SeriesHead } | null {
  let head = entry.head;
  const storedMinute = head ? minuteOf(head.timeNs) : null;
  const rows = new Map<number, number>();
  const out: PointRow[] = [];
  for (const p of points) {
    if (head && p.timeNs <= head.timeNs) return null;
    const increment = incrementAfter(p, head);
    if (increment === null) return null;
    const minute = minuteOf(p.timeNs);
    const sameMinute = head !== null && minute === minuteOf(head.timeNs);
    const value = p.temporality === 'gauge' ? p.value : (sameMinute && head ? head.minuteValue : 0) + increment;
    rows.set(minute, value);
    out.push({ seriesId: entry.id, temporality: p.temporality, startNs: p.startNs, timeNs: p.timeNs, value: p.value, increment });
    const cumulative = p.temporality === 'cumulative';
    head = {
      timeNs: p.timeNs,
      minuteValue: value,
      cumStartNs: cumulative ? p.startNs : (head?.cumStartNs ?? null),
      cumTimeNs: cumulative ? p.timeNs : (head?.cumTimeNs ?? null),
      cumValue: cumulative ? p.value : (head?.cumValue ?? null),
    };
  }
  if (!head) return null;
  const raw = [...rows].map(([minuteMs, value]) => ({ series: entry, minuteMs, value, replaces: minuteMs === storedMinute }));
  return { points: out, rows: raw, head };
}

/**
 * What a point after the head adds (the rule of ingest/derive-raw-rows.ts),
 * or null when that needs the stored points: a cumulative point of a run
 * other than the head's that may have older points (its start is not after
 * the series' latest point).
 */
function incrementAfter(p: IngestPoint, head: SeriesHead | null): number | null {
  if (p.temporality !== 'cumulative') return p.value;
  if (head && head.cumStartNs === p.startNs && head.cumValue !== null) return p.value >= head.cumValue ? p.value - head.cumValue : p.value;
  if (!head || p.startNs > head.timeNs) return p.value;
  return null;
}
