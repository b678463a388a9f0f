import { LABEL_COLUMNS, type LabelColumn } from '../catalog/catalog.ts';

/**
 * How a point's value reads (OTLP's metric type and aggregation temporality,
 * as the catalog's kind allows it):
 * - `gauge`: a level at the point's time (an OTel Gauge, or a non-monotonic cumulative Sum);
 * - `delta`: an increment over (start, time] (a monotonic Sum with DELTA temporality);
 * - `cumulative`: the total since its start time (a monotonic Sum with CUMULATIVE temporality).
 */
export type Temporality = 'gauge' | 'delta' | 'cumulative';
export const TEMPORALITIES: readonly Temporality[] = ['gauge', 'delta', 'cumulative'];

export type Labels = Readonly<Partial<Record<LabelColumn, string>>>;

/**
 * One received data point, mapped to a catalog metric and a cluster. Times
 * stay in nanoseconds, as OTLP sends them: a point's identity is
 * (series, temporality, start, time), and a repeat of it must compare equal.
 */
export interface IngestPoint {
  readonly resourceId: string;
  readonly metric: string;
  readonly labels: Labels;
  readonly temporality: Temporality;
  /** 0n when the sender gave none (gauges usually). */
  readonly startNs: bigint;
  readonly timeNs: bigint;
  readonly value: number;
}

/** One per-minute raw row (telemetry_raw without its tenant, which the cluster registry supplies). */
export interface DerivedRow {
  readonly minuteMs: number;
  readonly resourceId: string;
  readonly metric: string;
  readonly labels: Labels;
  readonly value: number;
}

export const NS_PER_MINUTE = 60_000_000_000n;
export const NS_PER_MS = 1_000_000n;

/** The start of the minute a nanosecond instant falls in, in milliseconds. */
export const minuteOf = (timeNs: bigint): number => Number((timeNs / NS_PER_MINUTE) * 60_000n);

/** Label names in one fixed order (sorted), whatever order the registry lists them in. */
const KEY_LABELS = [...LABEL_COLUMNS].sort();

/**
 * A series: cluster, metric and each label it has (name and value), as one
 * comparable string. Absent labels are left out, so a label added to the
 * registry later leaves the key of every stored series as it was.
 */
export function seriesKey(point: Pick<IngestPoint, 'resourceId' | 'metric' | 'labels'>): string {
  const parts: string[] = [point.resourceId, point.metric];
  for (const label of KEY_LABELS) {
    const value = point.labels[label];
    if (value !== undefined) parts.push(label, value);
  }
  return JSON.stringify(parts);
}

/** A point's identity: a second point with the same one is a repeat (a retried request), not new data. */
export const pointKey = (point: IngestPoint): string => `${seriesKey(point)}|${point.temporality}|${point.startNs}|${point.timeNs}`;
