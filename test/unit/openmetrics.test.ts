import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../../errors/strata-error.ts';
import { exportWindow, parseExportRequest } from '../../api/export/export-query.ts';
import { formatTimestamp, formatValue, prometheusName, renderOpenMetrics } from '../../api/export/openmetrics.ts';
import { METRICS } from '../../catalog/catalog.ts';

test('metric names become Prometheus-legal, as the reference export names them', () => {
  assert.equal(prometheusName('io.confluent.kafka.server/received_bytes'), 'confluent_kafka_server_received_bytes');
  assert.equal(prometheusName('io.confluent.kafka.server/consumer_lag_offsets'), 'confluent_kafka_server_consumer_lag_offsets');
  assert.equal(prometheusName('9lives.a-b/c..d'), '_9lives_a_b_c_d');
  for (const m of METRICS) assert.match(prometheusName(m.name), /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
});

test('values and timestamps in OpenMetrics form', () => {
  assert.equal(formatValue(42), '42');
  assert.equal(formatValue(0.5), '0.5');
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatTimestamp(1_763_683_140_000), '1763683140');
  assert.equal(formatTimestamp(1_763_683_140_050), '1763683140.050');
});

test('a family: TYPE, UNIT only when the name ends with it, HELP, escaped label values, then # EOF', () => {
  const text = renderOpenMetrics([
    {
      name: 'confluent_kafka_server_received_bytes',
      help: 'Bytes "in"\nper minute \\ ok',
      unit: 'bytes',
      samples: [
        { labels: { kafka_id: 'lkc-1', topic: 'a"b\\c\nd' }, value: 10, timestampMs: 60_000 },
        { labels: { kafka_id: 'lkc-1', topic: 'orders' }, value: 2.5, timestampMs: 60_000 },
      ],
    },
    { name: 'confluent_kafka_server_partition_count', help: 'Partitions.', unit: 'bytes', samples: [{ labels: {}, value: 7 }] },
  ]);
  assert.equal(
    text,
    [
      '# TYPE confluent_kafka_server_received_bytes gauge',
      '# UNIT confluent_kafka_server_received_bytes bytes',
      '# HELP confluent_kafka_server_received_bytes Bytes \\"in\\"\\nper minute \\\\ ok',
      'confluent_kafka_server_received_bytes{kafka_id="lkc-1",topic="a\\"b\\\\c\\nd"} 10 60',
      'confluent_kafka_server_received_bytes{kafka_id="lkc-1",topic="orders"} 2.5 60',
      '# TYPE confluent_kafka_server_partition_count gauge',
      '# HELP confluent_kafka_server_partition_count Partitions.',
      'confluent_kafka_server_partition_count 7',
      '# EOF',
      '',
    ].join('\n'),
  );
  assert.throws(
    () =>
      renderOpenMetrics([
        { name: 'x', help: '', samples: [] },
        { name: 'x', help: '', samples: [] },
      ]),
    /appears twice/,
  );
  assert.equal(renderOpenMetrics([]), '# EOF\n');
});

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isStrataError(e)) return `${e.code}:${String(e.details['parameter'] ?? '')}`;
    throw e;
  }
};
const parse = (qs: string, max = 3) => parseExportRequest(new URLSearchParams(qs), max);

test('parameters: repeated and comma-separated ids, both spellings, metrics by either name', () => {
  const r = parse('resource.kafka.id=lkc-1,lkc-2&resource_kafka_id=lkc-3&resource.kafka.id=lkc-1');
  assert.deepEqual(r.clusters, ['lkc-1', 'lkc-2', 'lkc-3']);
  assert.equal(r.metrics.length, METRICS.length);
  const m = parse('resource.kafka.id=lkc-1&metric=io.confluent.kafka.server/received_bytes,confluent_kafka_server_retained_bytes');
  assert.deepEqual(
    m.metrics.map((x) => x.name),
    ['io.confluent.kafka.server/received_bytes', 'io.confluent.kafka.server/retained_bytes'],
  );
});

test('bad parameters are 400-class codes naming the parameter', () => {
  assert.equal(
    codeOf(() => parse('')),
    'RESOURCE_FILTER_REQUIRED:',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=')),
    'BAD_REQUEST:resource.kafka.id',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=lkc-1,,lkc-2')),
    'BAD_REQUEST:resource.kafka.id',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=lkc-1&cluster=lkc-2')),
    'BAD_REQUEST:cluster',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=lkc 1')),
    'BAD_REQUEST:resource.kafka.id',
  );
  assert.equal(
    codeOf(() => parse(`resource.kafka.id=${'a'.repeat(65)}`)),
    'BAD_REQUEST:resource.kafka.id',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=a,b,c,d')),
    'LIMIT_OUT_OF_RANGE:resource.kafka.id',
  );
  assert.equal(
    codeOf(() => parse('resource.kafka.id=a&metric=nope')),
    'UNKNOWN_METRIC:metric',
  );
});

test('the exported minute is the last one closed delay or more before now', () => {
  const now = Date.parse('2026-11-23T12:06:41Z');
  const iso = (w: { start: number; end: number }) => `${new Date(w.start).toISOString()}/${new Date(w.end).toISOString()}`;
  assert.equal(iso(exportWindow(now, 0)), '2026-11-23T12:05:00.000Z/2026-11-23T12:06:00.000Z');
  // The reference API's 3-minute offset: a request at 12:06:41 gets 12:03-12:04.
  assert.equal(iso(exportWindow(now, 120_000)), '2026-11-23T12:03:00.000Z/2026-11-23T12:04:00.000Z');
  assert.equal(iso(exportWindow(Date.parse('2026-11-23T12:06:00Z'), 0)), '2026-11-23T12:05:00.000Z/2026-11-23T12:06:00.000Z');
});
