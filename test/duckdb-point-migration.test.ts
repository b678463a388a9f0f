import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LABEL_COLUMNS } from '../catalog/catalog.ts';
import { deriveRawRows } from '../ingest/derive-raw-rows.ts';
import type { IngestPoint } from '../ingest/ingest-point.ts';
import { DuckDbPointWriter } from '../store/duckdb/duckdb-point-writer.ts';
import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';

/**
 * A file written by the first point writer (every point keyed, no
 * increments, series keys listing every label column) opens in the current
 * layout and goes on exactly: the points written after it continue its runs.
 */
const M = 'io.confluent.kafka.server/';
const T0 = 1_790_000_040_000_000_000n - (1_790_000_040_000_000_000n % 60_000_000_000n);
const at = (minute: number): bigint => T0 + BigInt(minute * 60 + 10) * 1_000_000_000n;
const OLD_LABELS = ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id'];
const OLD_DDL = `CREATE TABLE ingest_points (series VARCHAR NOT NULL, temporality VARCHAR NOT NULL,
  start_ns BIGINT NOT NULL, time_ns BIGINT NOT NULL, tenant_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
  metric VARCHAR NOT NULL, ${OLD_LABELS.map((c) => `"${c}" VARCHAR`).join(', ')}, value DOUBLE NOT NULL,
  PRIMARY KEY (series, temporality, start_ns, time_ns))`;

const counter = (minute: number, value: number): IngestPoint => ({
  resourceId: 'lkc-a',
  metric: `${M}received_bytes`,
  labels: { topic: 'orders' },
  temporality: 'cumulative',
  startNs: T0,
  timeNs: at(minute),
  value,
});
const delta = (minute: number, value: number): IngestPoint => ({
  resourceId: 'lkc-a',
  metric: `${M}sent_bytes`,
  labels: { topic: 'orders' },
  temporality: 'delta',
  startNs: at(minute) - 1n,
  timeNs: at(minute),
  value,
});

/** How the first writer stored a point: its key held every label column's value, nulls too. */
function oldRow(p: IngestPoint): unknown[] {
  const values = OLD_LABELS.map((c) => p.labels[c as keyof IngestPoint['labels']] ?? null);
  const series = JSON.stringify([p.resourceId, p.metric, ...values]);
  return [series, p.temporality, p.startNs, p.timeNs, 't-1', p.resourceId, p.metric, ...values, p.value];
}

async function rawValues(store: DuckDbStore): Promise<string[]> {
  const rows = await store.read(`SELECT CAST(epoch_ms(__time) AS BIGINT) AS m, metric, value FROM telemetry_raw ORDER BY ALL`, []);
  return rows.map((r) => `${Number(r['m'])} ${String(r['metric'])} ${String(r['value'])}`);
}

const expected = (points: IngestPoint[]): string[] =>
  deriveRawRows(points)
    .map((r) => `${r.minuteMs} ${r.metric} ${r.value}`)
    .sort();

test('a file of the first point layout is migrated on open, and later points continue its runs exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-migrate-'));
  const file = join(dir, 'strata.duckdb');
  const before = [counter(0, 100), counter(1, 150), counter(3, 200), delta(0, 7), delta(1, 5)];
  try {
    const store = await DuckDbStore.open(file);
    await store.exec(`INSERT INTO resources VALUES ('t-1', 'lkc-a')`, []);
    await store.exec(OLD_DDL, []);
    for (const p of before)
      await store.exec(
        `INSERT INTO ingest_points VALUES (${oldRow(p)
          .map(() => '?')
          .join(', ')})`,
        oldRow(p) as never[],
      );
    for (const r of deriveRawRows(before)) {
      const labels = LABEL_COLUMNS.map((c) => r.labels[c] ?? null);
      await store.exec(
        `INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), 't-1', ?, ?, ${labels.map(() => '?').join(', ')}, ?)`,
        [r.minuteMs, r.resourceId, r.metric, ...labels, r.value] as never[],
      );
    }
    await store.close();

    const reopened = await DuckDbStore.open(file);
    const writer = await DuckDbPointWriter.open(reopened.duckdb);
    const layout = await reopened.read(
      `SELECT column_name FROM duckdb_columns() WHERE table_name = 'ingest_points' ORDER BY column_index`,
      [],
    );
    assert.deepEqual(
      layout.map((c) => c['column_name']),
      ['series_id', 'temporality', 'start_ns', 'time_ns', 'value', 'increment'],
      'points are narrow, with their increments',
    );
    // Out of order (between minutes 1 and 3), in order after the head, a repeat of a migrated point, and more deltas.
    const after = [counter(2, 180), counter(4, 260), counter(1, 150), delta(2, 3)];
    await writer.write(after, { kind: 'all' });
    assert.deepEqual(await rawValues(reopened), expected([...before, ...after]));
    const heads = await reopened.read(`SELECT cum_time_ns, cum_value FROM ingest_series WHERE metric = '${M}received_bytes'`, []);
    assert.deepEqual(heads, [{ cum_time_ns: at(4), cum_value: 260 }], "the series' head is its latest cumulative point");
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
