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
  const [pointsMark, rowsMark] = [plan.fastPoints.length, plan.fastRows.length];
  const head = fastWay(plan, entry, points);
  if (head) {
    plan.fastHeads.set(entry, head);
    return;
  }
  // Not the fast way after all: what it planned for the series goes.
  plan.fastPoints.length = pointsMark;
  plan.fastRows.length = rowsMark;
  plan.slowSeries.push(entry);
  for (const p of points)
    plan.slowPoints.push({ seriesId: entry.id, temporality: p.temporality, startNs: p.startNs, timeNs: p.timeNs, value: p.value });
}

/** A series' head as the fast way moves it along its points (plain fields: one object a series, not one a point). */
interface Moving {
  timeNs: bigint | null;
  minute: number | null;
  minuteValue: number;
  cumStartNs: bigint | null;
  cumTimeNs: bigint | null;
  cumValue: number | null;
}

/**
 * Plans the series' points and rows when every point comes after the
 * series' head (they are in time order): then no stored point is a repeat
 * of one, nor comes after one, and a cumulative point's previous point is
 * its run's head. Returns the new head, or null when a point does not (the
 * SQL way then counts the series' points).
 */
function fastWay(plan: WritePlan, entry: SeriesEntry, points: readonly IngestPoint[]): SeriesHead | null {
  const stored = entry.head;
  const storedMinute = stored ? minuteOf(stored.timeNs) : null;
  const at: Moving = {
    timeNs: stored?.timeNs ?? null,
    minute: storedMinute,
    minuteValue: stored?.minuteValue ?? 0,
    cumStartNs: stored?.cumStartNs ?? null,
    cumTimeNs: stored?.cumTimeNs ?? null,
    cumValue: stored?.cumValue ?? null,
  };
  let touched = false;
  for (const p of points) {
    if (at.timeNs !== null && p.timeNs <= at.timeNs) return null;
    const increment = incrementAfter(p, at);
    if (increment === null) return null;
    const minute = minuteOf(p.timeNs);
    const gauge = p.temporality === 'gauge';
    if (minute === at.minute) at.minuteValue = gauge ? p.value : at.minuteValue + increment;
    else {
      if (touched && at.minute !== null) plan.fastRows.push(rawRow(entry, at, storedMinute));
      at.minute = minute;
      at.minuteValue = gauge ? p.value : increment;
    }
    touched = true;
    plan.fastPoints.push({
      seriesId: entry.id,
      temporality: p.temporality,
      startNs: p.startNs,
      timeNs: p.timeNs,
      value: p.value,
      increment,
    });
    at.timeNs = p.timeNs;
    if (p.temporality === 'cumulative') [at.cumStartNs, at.cumTimeNs, at.cumValue] = [p.startNs, p.timeNs, p.value];
  }
  if (!touched || at.timeNs === null || at.minute === null) return null;
  plan.fastRows.push(rawRow(entry, at, storedMinute));
  return { timeNs: at.timeNs, minuteValue: at.minuteValue, cumStartNs: at.cumStartNs, cumTimeNs: at.cumTimeNs, cumValue: at.cumValue };
}

const rawRow = (series: SeriesEntry, at: Moving, storedMinute: number | null): RawRow => ({
  series,
  minuteMs: at.minute ?? 0,
  value: at.minuteValue,
  replaces: at.minute === storedMinute,
});

/**
 * What a point after the head adds (the rule of ingest/derive-raw-rows.ts),
 * or null when that needs the stored points: a cumulative point of a run
 * other than the head's that may have older points (its start is not after
 * the series' latest point).
 */
function incrementAfter(p: IngestPoint, at: Moving): number | null {
  if (p.temporality !== 'cumulative') return p.value;
  if (at.cumStartNs === p.startNs && at.cumValue !== null) return p.value >= at.cumValue ? p.value - at.cumValue : p.value;
  if (at.timeNs === null || p.startNs > at.timeNs) return p.value;
  return null;
}
