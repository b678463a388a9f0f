import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IngestPoint } from '../../ingest/ingest-point.ts';
import { planPointWrite } from '../../store/duckdb/point-write-plan.ts';
import { SeriesTable } from '../../store/duckdb/series-table.ts';

const M = 'io.confluent.kafka.server/received_bytes';
const T0 = 1_790_000_040_000_000_000n - (1_790_000_040_000_000_000n % 60_000_000_000n);
const at = (minute: number, second = 10): bigint => T0 + BigInt(minute * 60 + second) * 1_000_000_000n;
const point = (topic: string, minute: number, value: number, second = 10, startNs = T0): IngestPoint => ({
  resourceId: 'lkc-a',
  metric: M,
  labels: { topic },
  temporality: 'cumulative',
  startNs,
  timeNs: at(minute, second),
  value,
});
const TENANTS = new Map([['lkc-a', 't-1']]);

test('points after their series’ head go the fast way, counted in memory; a repeat or an older point sends its series the SQL way', () => {
  const table = new SeriesTable();
  const first = planPointWrite(
    [{ points: [point('a', 0, 100), point('a', 0, 130, 40), point('a', 1, 150)], scope: { kind: 'all' } }],
    TENANTS,
    table,
  );
  assert.equal(first.newSeries.length, 1);
  assert.deepEqual(
    first.fastPoints.map((p) => p.increment),
    [100, 30, 20],
  );
  assert.deepEqual(
    first.fastRows.map((r) => [r.value, r.replaces]),
    [
      [130, false],
      [20, false],
    ],
  );
  for (const e of first.newSeries) table.add(e);
  for (const [entry, head] of first.fastHeads) entry.head = head;

  const next = planPointWrite(
    [{ points: [point('a', 1, 170, 50), point('b', 0, 5), point('b', 0, 5), point('a', 2, 100, 10, at(1, 55))], scope: { kind: 'all' } }],
    TENANTS,
    table,
  );
  assert.deepEqual(
    next.fastRows.map((r) => [r.series.labels.topic, r.minuteMs === Number(at(1, 0) / 1_000_000n), r.value, r.replaces]),
    [
      ['a', true, 40, true],
      ['a', false, 100, false],
      ['b', false, 5, false],
    ],
    "minute 1's stored row is replaced (20 + 20); a new start after the head is a new run; a repeat in one request counts once",
  );
  const slow = planPointWrite([{ points: [point('a', 0, 130, 40)], scope: { kind: 'all' } }], TENANTS, table);
  assert.equal(slow.fastPoints.length, 0);
  assert.equal(slow.slowPoints.length, 1, 'a retried point is older than the head: the SQL way finds it stored');
  const foreign = planPointWrite([{ points: [point('a', 3, 1)], scope: { kind: 'tenant', tenantId: 't-2' } }], TENANTS, table);
  assert.deepEqual(foreign.results, [{ accepted: 0, refused: 1, refusedClusters: ['lkc-a'] }]);
});
