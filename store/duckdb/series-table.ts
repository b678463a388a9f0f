import type { DuckDBConnection } from '@duckdb/node-api';
import type { Labels } from '../../ingest/ingest-point.ts';

/**
 * What the writer knows of a series' latest data, so that a point after it
 * is written without reading the store: the latest point's time (any
 * temporality) and the value of its minute's raw row, and the latest
 * cumulative point (the head of its run).
 */
export interface SeriesHead {
  readonly timeNs: bigint;
  readonly minuteValue: number;
  readonly cumStartNs: bigint | null;
  readonly cumTimeNs: bigint | null;
  readonly cumValue: number | null;
}

/** A series the store holds: its id in ingest_points, its tenant (the registry's at its first point) and its head. */
export interface SeriesEntry {
  readonly id: number;
  readonly key: string;
  readonly tenantId: string;
  readonly resourceId: string;
  readonly metric: string;
  readonly labels: Labels;
  head: SeriesHead | null;
}

const bigintOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as bigint));

/** A head from an ingest_series row (null for a series whose points are all gone). */
export function headOf(row: Record<string, unknown>): SeriesHead | null {
  if (row['time_ns'] === null || row['time_ns'] === undefined) return null;
  return {
    timeNs: BigInt(row['time_ns'] as bigint),
    minuteValue: Number(row['minute_value']),
    cumStartNs: bigintOrNull(row['cum_start_ns']),
    cumTimeNs: bigintOrNull(row['cum_time_ns']),
    cumValue: row['cum_value'] === null || row['cum_value'] === undefined ? null : Number(row['cum_value']),
  };
}

/**
 * Every series of the store, in memory: the writer's index of ingest_series
 * (one entry per series, a few hundred bytes). The writer is the store's
 * only writer of points, so the table and this index change together, and
 * an entry changes only once its transaction has committed.
 */
export class SeriesTable {
  private readonly byKey = new Map<string, SeriesEntry>();
  private readonly perTenant = new Map<string, number>();
  private nextId = 1;

  static async load(connection: DuckDBConnection, labelColumns: readonly string[]): Promise<SeriesTable> {
    const table = new SeriesTable();
    const rows = (await connection.runAndReadAll('SELECT * FROM ingest_series')).getRowObjectsJS();
    for (const row of rows) {
      const labels: Record<string, string> = {};
      for (const c of labelColumns) if (typeof row[c] === 'string') labels[c] = row[c] as string;
      table.add({
        id: Number(row['series_id']),
        key: String(row['series']),
        tenantId: String(row['tenant_id']),
        resourceId: String(row['resource_id']),
        metric: String(row['metric']),
        labels,
        head: headOf(row),
      });
    }
    return table;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Series stored for a tenant (its share of this index). */
  countOf(tenantId: string): number {
    return this.perTenant.get(tenantId) ?? 0;
  }

  get(key: string): SeriesEntry | undefined {
    return this.byKey.get(key);
  }

  /** An id for a series not stored yet (ids are never reused, so one of a rolled-back write is just skipped). */
  allocateId(): number {
    return this.nextId++;
  }

  add(entry: SeriesEntry): void {
    if (!this.byKey.has(entry.key)) this.perTenant.set(entry.tenantId, this.countOf(entry.tenantId) + 1);
    this.byKey.set(entry.key, entry);
    this.nextId = Math.max(this.nextId, entry.id + 1);
  }
}
