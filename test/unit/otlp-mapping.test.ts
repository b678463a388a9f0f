import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RAW_RETENTION_MS } from '../../catalog/catalog.ts';
import { ConfigError, loadConfig, MAX_LATENESS_LIMIT_MS } from '../../config/config.ts';
import { deriveRawRows } from '../../ingest/derive-raw-rows.ts';
import type { IngestPoint } from '../../ingest/ingest-point.ts';
import { mapOtlpRequest } from '../../ingest/otlp-mapping.ts';
import type { OtlpMetricsRequest } from '../../ingest/otlp-request.ts';

const M = 'io.confluent.kafka.server/';
const NOW = Date.parse('2026-11-20T00:00:00Z');
const RULES = { now: NOW, maxFutureMs: 300_000, maxLatenessMs: 48 * 3_600_000 };
const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
/** A request as a decoder could hand it over (loosely built: the mapping must cope with any shape the schema allows). */
const resource = (metrics: unknown[], attributes = [kv('kafka.cluster.id', { stringValue: 'lkc-1' })]): OtlpMetricsRequest =>
  ({ resourceMetrics: [{ resource: { attributes }, scopeMetrics: [{ metrics }] }] }) as OtlpMetricsRequest;

test('mapping: Sum to counters (delta, cumulative), Gauge and non-monotonic Sum to gauges; labels of the metric kept, others dropped', () => {
  const attrs = [kv('topic', { stringValue: 'a' }), kv('partition', { intValue: '3' }), kv('host', { stringValue: 'x' })];
  const p = { attributes: attrs, startTimeUnixNano: ns(NOW - 120_000), timeUnixNano: ns(NOW - 60_000), asInt: '5' };
  const { points, refusals } = mapOtlpRequest(
    resource([
      { name: `${M}received_bytes`, sum: { dataPoints: [p], aggregationTemporality: 2, isMonotonic: true } },
      { name: `${M}sent_bytes`, sum: { dataPoints: [p], aggregationTemporality: 1, isMonotonic: true } },
      { name: `${M}retained_bytes`, gauge: { dataPoints: [{ ...p, asInt: undefined, asDouble: 2.5 }] } },
      { name: `${M}active_connection_count`, sum: { dataPoints: [p], aggregationTemporality: 2, isMonotonic: false } },
      { name: `${M}partition_count`, gauge: { dataPoints: [{ ...p, flags: 1 }] } },
    ]),
    RULES,
  );
  assert.equal(refusals.total, 0, refusals.message());
  assert.deepEqual(
    points.map((x) => [x.metric.slice(M.length), x.temporality, x.labels, x.value, x.startNs > 0n]),
    [
      ['received_bytes', 'cumulative', { topic: 'a' }, 5, true],
      ['sent_bytes', 'delta', { topic: 'a' }, 5, true],
      ['retained_bytes', 'gauge', { topic: 'a', partition: '3' }, 2.5, false],
      ['active_connection_count', 'gauge', {}, 5, false],
    ],
    'a point flagged "no recorded value" carries no data: skipped, not refused',
  );
});

test('mapping: every refused point is counted with its reason', () => {
  const p = (ms: number, extra: Record<string, unknown> = {}) => ({
    timeUnixNano: ns(ms),
    startTimeUnixNano: ns(ms - 60_000),
    asInt: '1',
    ...extra,
  });
  const sum = (name: string, dataPoints: unknown[], temporality = 2, isMonotonic = true) => ({
    name: M + name,
    sum: { dataPoints, aggregationTemporality: temporality, isMonotonic },
  });
  const { points, refusals } = mapOtlpRequest(
    {
      resourceMetrics: [
        ...(resource([
          sum('nope', [p(NOW)]),
          sum('received_bytes', [p(NOW)], 0),
          sum('received_bytes', [p(NOW)], 2, false),
          { name: `${M}retained_bytes`, sum: { dataPoints: [p(NOW)], aggregationTemporality: 1, isMonotonic: true } },
          { name: `${M}received_bytes`, summary: { dataPoints: [{}] }, exponentialHistogram: undefined },
          sum('received_bytes', [
            p(NOW, { asInt: undefined, asDouble: Number.POSITIVE_INFINITY }),
            p(NOW, { asInt: '-4' }),
            p(NOW, { asInt: '9007199254740993' }),
          ]),
          sum('received_bytes', [
            p(NOW + 600_000),
            p(NOW - 8 * 86_400_000),
            p(NOW, { startTimeUnixNano: ns(NOW + 1) }),
            p(NOW, { asInt: undefined }),
          ]),
          sum('received_bytes', [p(NOW)]),
        ]).resourceMetrics ?? []),
        ...(resource([sum('received_bytes', [p(NOW), p(NOW)])], [kv('service.name', { stringValue: 'x' })]).resourceMetrics ?? []),
      ],
    },
    RULES,
  );
  assert.equal(points.length, 1);
  assert.equal(refusals.total, 14, refusals.message());
  const message = refusals.message();
  for (const reason of [
    'not in the catalog',
    'temporality 0',
    'counter; send it as a monotonic Sum',
    'is a gauge',
    'a Summary',
    'not finite',
    'negative',
    'beyond 2^53',
    'ahead of',
    'older than the lateness window (48 h, STRATA_OTLP_MAX_LATENESS)',
    'starts after',
    'neither as_double nor as_int',
    'no kafka.cluster.id',
  ])
    assert.match(message, new RegExp(reason.replace(/[()^]/g, '\\$&')), reason);
});

test('the lateness window: a point at now minus the window is kept, an older one refused naming the window; 48h by default, at most raw retention', () => {
  const window = 90 * 60_000;
  const at = (ms: number) => ({ startTimeUnixNano: ns(ms - 1), timeUnixNano: ns(ms), asInt: '1' });
  const { points, refusals } = mapOtlpRequest(
    resource([
      {
        name: `${M}sent_bytes`,
        sum: { dataPoints: [at(NOW - window), at(NOW - window - 1)], aggregationTemporality: 1, isMonotonic: true },
      },
    ]),
    { ...RULES, maxLatenessMs: window },
  );
  assert.equal(points.length, 1);
  assert.equal(refusals.total, 1);
  assert.match(refusals.message(), /older than the lateness window \(90 min, STRATA_OTLP_MAX_LATENESS\)/);
  assert.equal(loadConfig({}).ingest.maxLatenessMs, 48 * 3_600_000);
  assert.equal(MAX_LATENESS_LIMIT_MS, RAW_RETENTION_MS, "config's bound is raw retention");
  assert.equal(loadConfig({}, { STRATA_OTLP_MAX_LATENESS: '168h' }).ingest.maxLatenessMs, RAW_RETENTION_MS);
  for (const bad of ['0', '169h'])
    assert.throws(
      () => loadConfig({}, { STRATA_OTLP_MAX_LATENESS: bad }),
      (e: unknown) => e instanceof ConfigError && /STRATA_OTLP_MAX_LATENESS: more than 0 and at most 168h/.test(e.message),
      bad,
    );
});

test('the derivation rule: cumulative runs, resets by a new start or a lower value, repeats and reorders', () => {
  const base = { resourceId: 'lkc-1', metric: `${M}received_bytes`, labels: { topic: 'a' }, temporality: 'cumulative' as const };
  const at = (minute: number): bigint => BigInt(NOW + minute * 60_000 + 5_000) * 1_000_000n;
  const s1 = BigInt(NOW) * 1_000_000n;
  const s2 = at(2);
  const pts: IngestPoint[] = [
    { ...base, startNs: s1, timeNs: at(1), value: 30 },
    { ...base, startNs: s1, timeNs: at(0), value: 10 },
    { ...base, startNs: s1, timeNs: at(1), value: 30 },
    { ...base, startNs: s2, timeNs: at(3), value: 4 },
    { ...base, startNs: s1, timeNs: at(4), value: 6 },
  ];
  const values = (points: IngestPoint[]) => deriveRawRows(points).map((r) => [(r.minuteMs - NOW) / 60_000, r.value]);
  assert.deepEqual(values(pts), [
    [0, 10],
    [1, 20],
    [3, 4],
    [4, 6],
  ]);
  assert.deepEqual(values([...pts].reverse()), values(pts), 'order does not matter');
  const gauge = { ...base, metric: `${M}retained_bytes`, temporality: 'gauge' as const, startNs: 0n };
  assert.deepEqual(
    values([
      { ...gauge, timeNs: at(0) + 1n, value: 1 },
      { ...gauge, timeNs: at(0), value: 9 },
    ]),
    [[0, 1]],
    'a gauge minute is its last sample',
  );
});
