import { type DerivedRow, type IngestPoint, minuteOf, pointKey, seriesKey } from './ingest-point.ts';

/**
 * The derivation rule: the per-minute raw rows a set of received points
 * stands for. Raw data is a function of the set alone, so the order points
 * arrive in and how often they are repeated change nothing. The DuckDB writer
 * computes the same rule in SQL for the series and minutes a write touches
 * (store/duckdb/duckdb-point-sql.ts); this is its specification and the
 * tests' oracle.
 *
 * - A repeat (same series, temporality, start and time) is one point; if
 *   its values differ, the larger is kept (so the outcome does not depend on
 *   which came first).
 * - A point counts in the minute its time falls in (UTC, [m, m + 1 min)).
 * - Gauge: the minute's level is the value of its last point by time (ties:
 *   the later start, then the larger value).
 * - Delta: the minute's value is the sum of its points' increments.
 * - Cumulative: points of one start time form a run; a point's increment is
 *   its value minus the previous point's of the run (by time), or its whole
 *   value for the first point of a run (a new start time is a reset: the
 *   count since that start) and for a value lower than the previous (a reset
 *   the sender did not mark with a new start). The minute's value is the sum
 *   of its points' increments, over every run of the series.
 */
export function deriveRawRows(points: Iterable<IngestPoint>): DerivedRow[] {
  const bySeries = new Map<string, IngestPoint[]>();
  for (const point of uniquePoints(points)) {
    const key = seriesKey(point);
    const list = bySeries.get(key);
    if (list) list.push(point);
    else bySeries.set(key, [point]);
  }
  const rows: DerivedRow[] = [];
  for (const key of [...bySeries.keys()].sort()) {
    const series = bySeries.get(key) ?? [];
    const first = series[0];
    if (!first) continue;
    const values = first.temporality === 'gauge' ? gaugeMinutes(series) : counterMinutes(series);
    for (const [minuteMs, value] of [...values].sort((a, b) => a[0] - b[0]))
      rows.push({ minuteMs, resourceId: first.resourceId, metric: first.metric, labels: first.labels, value });
  }
  return rows;
}

function uniquePoints(points: Iterable<IngestPoint>): IngestPoint[] {
  const unique = new Map<string, IngestPoint>();
  for (const point of points) {
    const key = pointKey(point);
    const kept = unique.get(key);
    if (!kept || point.value > kept.value) unique.set(key, point);
  }
  return [...unique.values()];
}

/** The last point of each minute, by (time, start, value). */
function gaugeMinutes(points: readonly IngestPoint[]): Map<number, number> {
  const last = new Map<number, IngestPoint>();
  for (const p of points) {
    const minute = minuteOf(p.timeNs);
    const kept = last.get(minute);
    if (!kept || later(p, kept)) last.set(minute, p);
  }
  return new Map([...last].map(([minute, p]) => [minute, p.value]));
}

const later = (a: IngestPoint, b: IngestPoint): boolean =>
  a.timeNs !== b.timeNs ? a.timeNs > b.timeNs : a.startNs !== b.startNs ? a.startNs > b.startNs : a.value > b.value;

/** The sum of each minute's increments, over every run (temporality and start) of the series. */
function counterMinutes(points: readonly IngestPoint[]): Map<number, number> {
  const runs = new Map<string, IngestPoint[]>();
  for (const p of points) {
    const run = `${p.temporality}|${p.startNs}`;
    const list = runs.get(run);
    if (list) list.push(p);
    else runs.set(run, [p]);
  }
  const minutes = new Map<number, number>();
  for (const run of runs.values()) {
    run.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    let previous: number | undefined;
    for (const p of run) {
      const increment = p.temporality === 'delta' || previous === undefined || p.value < previous ? p.value : p.value - previous;
      previous = p.value;
      const minute = minuteOf(p.timeNs);
      minutes.set(minute, (minutes.get(minute) ?? 0) + increment);
    }
  }
  return minutes;
}
