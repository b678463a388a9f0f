import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findMetric, LABEL_COLUMNS, METRICS, REGISTRY, USAGE_COLUMNS } from '../../catalog/catalog.ts';
import { MetricRegistryError, parseMetricRegistry, RegistryProblemCode, type RegistryProblem } from '../../catalog/metric-registry.ts';
import { BUNDLED_METRICS_FILE, ConfigError, loadConfig } from '../../config/config.ts';
import { metricsFilePath, readMetricsFile } from '../../config/metrics-file.ts';

/**
 * The registry file: the bundled one is exactly the catalog Strata had in
 * code, and every mistake an operator can make stops the start with a message
 * naming the file, the metric, the field and the fix.
 */

const P = 'io.confluent.kafka.server/';
const def = (name: string, kind: 'COUNTER' | 'GAUGE', unit: string, description: string, labels: string[]) => ({
  name: P + name,
  kind,
  unit,
  description,
  labels,
  defaultAggregation: kind === 'COUNTER' ? 'SUM' : 'AVG',
});

/** The catalog as catalog/catalog.ts held it in code before the registry (counter()/gauge() helpers). */
const BEFORE = [
  def('received_bytes', 'COUNTER', 'By', 'Bytes produced to the cluster by clients, per minute.', ['topic']),
  def('sent_bytes', 'COUNTER', 'By', 'Bytes consumed from the cluster by clients, per minute.', ['topic']),
  def('received_records', 'COUNTER', '{record}', 'Records produced to the cluster, per minute.', ['topic']),
  def('sent_records', 'COUNTER', '{record}', 'Records consumed from the cluster, per minute.', ['topic']),
  def('request_count', 'COUNTER', '{request}', 'Requests received by the brokers, per minute.', ['request_type']),
  def('retained_bytes', 'GAUGE', 'By', 'Bytes retained on disk, sampled each minute.', ['topic', 'partition']),
  def('active_connection_count', 'GAUGE', '{connection}', 'Open client connections, sampled each minute.', []),
  def('partition_count', 'GAUGE', '{partition}', 'Partitions hosted by the cluster, sampled each minute.', []),
  def('consumer_lag_offsets', 'GAUGE', '{offset}', 'Consumer group lag in offsets, sampled each minute.', ['consumer_group_id', 'topic']),
];

test('the bundled registry is the catalog as it was in code: same metrics, same label columns in storage order', () => {
  assert.equal(readMetricsFile({}).file, BUNDLED_METRICS_FILE);
  assert.deepEqual(
    METRICS.map(({ otelNames: _, ...m }) => m),
    BEFORE,
  );
  assert.deepEqual(LABEL_COLUMNS, ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id']);
  assert.deepEqual(REGISTRY.labels, LABEL_COLUMNS);
  // Each metric answers to its OTel name as well, and the name it stands for is the catalog's.
  for (const m of METRICS) {
    assert.deepEqual(m.otelNames, [m.name.replace(P, 'kafka.server.')]);
    assert.equal(findMetric(m.otelNames[0] ?? '')?.name, m.name);
    assert.equal(findMetric(m.name), m);
  }
});

const metric = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'app.widgets',
  kind: 'COUNTER',
  unit: '{widget}',
  description: 'Widgets made, per minute.',
  labels: ['shop'],
  defaultAggregation: 'SUM',
  ...over,
});

/** The one problem a registry with these metrics (and top-level fields) has. */
function problemsOf(metrics: unknown[], top: Record<string, unknown> = {}, required: string[] = []): RegistryProblem[] {
  try {
    parseMetricRegistry(JSON.stringify({ ...top, metrics }), '/etc/strata/metrics.json', required);
  } catch (error) {
    assert.ok(error instanceof MetricRegistryError, String(error));
    assert.equal(error.file, '/etc/strata/metrics.json');
    assert.match(error.message, /^Invalid metric registry \/etc\/strata\/metrics\.json:\n/);
    assert.match(error.message, /unset STRATA_METRICS_FILE to serve the bundled catalog\/metrics\.json/);
    return [...error.problems];
  }
  return assert.fail('the registry was accepted');
}

function onlyProblem(metrics: unknown[], top: Record<string, unknown> = {}, required: string[] = []): RegistryProblem {
  const problems = problemsOf(metrics, top, required);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  return problems[0] as RegistryProblem;
}

test('a valid registry: labels in storage order, the file-level ones first, then each metric label first seen', () => {
  const registry = parseMetricRegistry(
    JSON.stringify({
      labels: ['topic'],
      metrics: [
        metric({ labels: ['shop', 'topic'] }),
        metric({ name: 'app.level', kind: 'GAUGE', defaultAggregation: 'MAX', labels: ['aisle'] }),
      ],
    }),
    'x.json',
  );
  assert.deepEqual(registry.labels, ['topic', 'shop', 'aisle']);
  assert.deepEqual(registry.metrics[0]?.otelNames, []);
  assert.equal(registry.metrics[1]?.defaultAggregation, 'MAX');
});

test('a file that is not JSON', () => {
  assert.throws(
    () => parseMetricRegistry('{ "metrics": [', 'm.json'),
    (e: unknown) =>
      e instanceof MetricRegistryError &&
      e.problems[0]?.code === RegistryProblemCode.NOT_JSON &&
      /\(file\): not valid JSON/.test(e.message),
  );
});

test('a field of the wrong shape names the metric, the field and what it takes', () => {
  const kind = onlyProblem([metric({ kind: 'HISTOGRAM' })]);
  assert.deepEqual(kind, { code: 'REGISTRY_INVALID_FIELD', metric: 'app.widgets', field: 'kind', message: 'kind is COUNTER or GAUGE' });
  const typo = onlyProblem([metric({ lables: ['x'] })]);
  assert.equal(typo.field, '(definition)');
  assert.match(typo.message, /Unrecognized key: "lables".*check the spelling: fields are name, otelNames, kind/);
  const unit = onlyProblem([metric({ unit: '' })]);
  assert.equal(unit.field, 'unit');
  assert.match(unit.message, /UCUM string such as "By"/);
  const label = onlyProblem([metric({ labels: ['shop', 7] })]);
  assert.deepEqual([label.field, label.message], ['labels[1]', 'a label is a string']);
  // A metric without a name is named by its place in the file.
  const nameless = onlyProblem([metric(), metric({ name: undefined })]);
  assert.deepEqual([nameless.metric, nameless.field], ['metrics[1]', 'name']);
  const badName = onlyProblem([metric({ name: '9 widgets' })]);
  assert.match(badName.message, /name is an OpenTelemetry metric name: a letter, then letters, digits, _ \. - or \//);
  assert.deepEqual(onlyProblem([], {}).field, 'metrics');
});

test('names are unique across catalog names and OTel names', () => {
  const twice = onlyProblem([metric(), metric()]);
  assert.equal(twice.code, RegistryProblemCode.DUPLICATE_NAME);
  assert.equal(twice.field, 'name');
  assert.equal(twice.message, '"app.widgets" names two metrics (metric "app.widgets" already has it); give each metric names of its own');
  const alias = onlyProblem([metric(), metric({ name: 'app.gadgets', otelNames: ['app.widgets'] })]);
  assert.deepEqual([alias.metric, alias.field], ['app.gadgets', 'otelNames[0]']);
  assert.match(alias.message, /metric "app\.widgets" already has it/);
  const own = onlyProblem([metric({ otelNames: ['app.widgets'] })]);
  assert.match(own.message, /this metric already has it/);
});

test('labels are SQL-safe identifiers that no table uses for another column', () => {
  const upper = onlyProblem([metric({ labels: ['kafka.topic'] })]);
  assert.equal(upper.code, RegistryProblemCode.BAD_LABEL);
  assert.equal(upper.field, 'labels[0]');
  assert.match(upper.message, /"kafka\.topic" is not a label name: lower-case letters, digits and _.*\(e\.g\. "kafka_topic"\)/);
  for (const reserved of ['tenant_id', 'resource_id', 'metric', 'level', 'value', '__time']) {
    const problem = onlyProblem([metric({ labels: [reserved] })]);
    assert.equal(problem.message, `"${reserved}" is a column of the tables already; name the label otherwise (e.g. "${reserved}_label")`);
  }
  const twice = onlyProblem([metric({ labels: ['shop', 'shop'] })]);
  assert.deepEqual([twice.code, twice.field], [RegistryProblemCode.DUPLICATE_NAME, 'labels[1]']);
  const top = onlyProblem([metric()], { labels: ['Shop'] });
  assert.deepEqual([top.metric, top.field], [undefined, 'labels[0]']);
});

test("the default aggregation fits the metric's kind", () => {
  const problem = onlyProblem([metric({ kind: 'GAUGE', defaultAggregation: 'SUM' })]);
  assert.deepEqual(problem, {
    code: 'REGISTRY_AGGREGATION_FOR_KIND',
    metric: 'app.widgets',
    field: 'defaultAggregation',
    message: 'SUM is no default for a GAUGE; use one of AVG, MIN, MAX',
  });
  assert.match(onlyProblem([metric({ defaultAggregation: 'AVG' })]).message, /AVG is no default for a COUNTER; use one of SUM, COUNT/);
});

test('the metrics billing reads must stay defined; every problem of a file is reported at once', () => {
  const missing = onlyProblem([metric()], {}, [USAGE_COLUMNS.ingress]);
  assert.deepEqual(missing, {
    code: 'REGISTRY_MISSING_METRIC',
    metric: USAGE_COLUMNS.ingress,
    field: 'name',
    message: 'billing usage reads this metric: keep its definition',
  });
  const all = problemsOf([metric({ labels: ['value'] }), metric({ kind: 'GAUGE' })]);
  assert.deepEqual(
    all.map((p) => p.code),
    ['REGISTRY_BAD_LABEL', 'REGISTRY_DUPLICATE_NAME', 'REGISTRY_AGGREGATION_FOR_KIND'],
  );
});

test('STRATA_METRICS_FILE: read by the config module, relative to the working directory; unreadable fails naming the variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-registry-'));
  try {
    const file = join(dir, 'metrics.json');
    writeFileSync(file, readFileSync(BUNDLED_METRICS_FILE));
    assert.equal(readMetricsFile({ STRATA_METRICS_FILE: file }).file, file);
    assert.equal(metricsFilePath({ STRATA_METRICS_FILE: '' }), BUNDLED_METRICS_FILE);
    assert.equal(metricsFilePath({ STRATA_METRICS_FILE: 'conf/m.json' }), join(process.cwd(), 'conf/m.json'));
    assert.equal(loadConfig({}).metricsFile, BUNDLED_METRICS_FILE);
    assert.equal(loadConfig({ STRATA_METRICS_FILE: file }).metricsFile, file);
    assert.throws(
      () => readMetricsFile({ STRATA_METRICS_FILE: join(dir, 'absent.json') }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /STRATA_METRICS_FILE: cannot read the metric registry .*absent\.json \(ENOENT/.test(e.message) &&
        /Point STRATA_METRICS_FILE at a readable JSON file/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
