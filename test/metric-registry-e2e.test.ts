import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { mintDevToken } from '../auth/mint-token.ts';
import type { Role } from '../auth/principal.ts';
import { BUNDLED_METRICS_FILE, loadConfig } from '../config/config.ts';
import { graphql, npmSeed, startServer, type RunningServer } from './helpers/server-process.ts';

/**
 * An operator adds a metric with a label no metric had, by the registry file
 * alone, over a store file written before it: the real server process starts
 * on it (the tables gain the label's column, in a fresh file's order, with
 * their rows), takes the metric over OTLP under its OTel name, and answers it
 * by GraphQL grouped by the new label, from raw and, once the aggregator has
 * rebuilt the late buckets, from rollup_1h.
 */
const END = Date.parse('2026-11-20T00:00:00Z');
const NOW = END + 3 * 3_600_000; // the seeded data ends 3 h ago: rollups are built to END at start
const NAME = 'io.confluent.kafka.server/client_request_count';
const OTEL = 'kafka.server.client_request_count';
const env = { STRATA_NOW: new Date(NOW).toISOString(), STRATA_LOG_LEVEL: 'warn', STRATA_AGGREGATE_EVERY: '0' };
let dir: string;
let db: string;
let registry: string;
let cluster: string;

const token = (role: Role): string => mintDevToken(loadConfig({}).jwt, { role, ttlSeconds: 3600 });
const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** Delta counter points, one a minute in the hour before END (built already: late data), for each client. */
const clientPoints = (perClient: Record<string, number>) =>
  Object.entries(perClient).flatMap(([client, value]) =>
    Array.from({ length: 60 }, (_, i) => {
      const start = END - 3_600_000 + i * 60_000;
      return {
        attributes: [kv('client_id', client)],
        startTimeUnixNano: ns(start),
        timeUnixNano: ns(start + 30_000),
        asInt: String(value),
      };
    }),
  );

async function push(url: string, name: string, points: unknown[]): Promise<{ status: number; body: unknown }> {
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [kv('kafka.cluster.id', cluster)] },
        scopeMetrics: [{ metrics: [{ name, sum: { dataPoints: points, aggregationTemporality: 1, isMonotonic: true } }] }],
      },
    ],
  };
  const response = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token('collector')}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Opens the file once the stopped server has let it go: npm exits on the signal before the server has closed the store. */
async function openFile(): Promise<DuckDBInstance> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    } catch (error) {
      if (attempt > 100 || !String(error).includes('Could not set lock')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function fileRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await openFile();
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const columns = async (table: string): Promise<string[]> =>
  (await fileRows(`SELECT column_name FROM duckdb_columns() WHERE table_name = '${table}' ORDER BY column_index`)).map((r) =>
    String(r['column_name']),
  );

type Series = { labels: { key: string; value: string }[]; points: { value: number }[] }[];
async function byClient(
  url: string,
  granularity: string,
): Promise<{ totals: Record<string, number>; sources: string[]; levels: unknown[] }> {
  const doc = `{ timeseries(query: { metric: "${OTEL}", granularity: ${granularity}, interval: "${new Date(END - 3_600_000).toISOString()}/${new Date(END).toISOString()}",
      groupBy: ["client_id"], filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) {
      series { labels { key value } points { value } } plan { fragments { source level } } } }`;
  const { status, body } = await graphql(url, token('internal'), doc);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const result = body.data?.['timeseries'] as { series: Series; plan: { fragments: { source: string; level: unknown }[] } };
  const totals = Object.fromEntries(result.series.map((s) => [s.labels[0]?.value ?? '', s.points.reduce((n, p) => n + p.value, 0)]));
  return { totals, sources: result.plan.fragments.map((f) => f.source), levels: result.plan.fragments.map((f) => f.level) };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-registry-e2e-'));
  db = join(dir, 'before.duckdb');
  await npmSeed(db, { seed: 5, tenants: 1, clusters: 1, topics: 2, partitions: 1, days: 1, end: new Date(END).toISOString() });
  cluster = String((await fileRows('SELECT resource_id FROM resources'))[0]?.['resource_id']);
  const bundled = JSON.parse(readFileSync(BUNDLED_METRICS_FILE, 'utf8')) as { labels: string[]; metrics: unknown[] };
  const added = {
    name: NAME,
    otelNames: [OTEL],
    kind: 'COUNTER',
    unit: '{request}',
    description: 'Requests per client, per minute.',
    labels: ['client_id'],
    defaultAggregation: 'SUM',
  };
  registry = join(dir, 'metrics.json');
  writeFileSync(registry, JSON.stringify({ ...bundled, metrics: [...bundled.metrics, added] }, null, 2));
});

/** Runs `use` against a server started on the file, and stops it whatever happens: the next start needs the file. */
async function serving(extra: Record<string, string>, use: (url: string) => Promise<void>): Promise<void> {
  const server: RunningServer = await startServer(db, { ...env, ...extra });
  try {
    await use(server.url);
  } finally {
    await server.stop();
  }
}

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a file written before the label: the default registry writes a point under an OTel name, then stops', async () => {
  await serving({}, async (url) => {
    const point = {
      attributes: [kv('topic', 'before-label')],
      startTimeUnixNano: ns(NOW - 120_000),
      timeUnixNano: ns(NOW - 60_000),
      asInt: '7',
    };
    assert.deepEqual(await push(url, 'kafka.server.received_bytes', [point]), { status: 200, body: {} });
    // The new metric is unknown here: refused and counted, not stored.
    const refused = await push(url, OTEL, clientPoints({ early: 1 }));
    assert.equal((refused.body as { partialSuccess?: { rejectedDataPoints?: string } }).partialSuccess?.rejectedDataPoints, '60');
  });
  assert.ok(!(await columns('telemetry_raw')).includes('client_id'));
});

test('the registry with a new label: each table gains its column in place, in a fresh file layout, with every row kept', async () => {
  const before = await fileRows(
    'SELECT (SELECT count(*) FROM telemetry_raw) AS raw, (SELECT count(*) FROM rollup_1h) AS h, (SELECT count(*) FROM ingest_points) AS p, (SELECT count(*) FROM ingest_series) AS s',
  );
  await serving({ STRATA_METRICS_FILE: registry }, async (url) => {
    const metrics = await graphql(url, token('internal'), '{ metrics { name labels otelNames } }');
    assert.deepEqual(
      (metrics.body.data?.['metrics'] as { name: string }[]).find((m) => m.name === NAME),
      { name: NAME, labels: ['client_id'], otelNames: [OTEL] },
    );
    assert.deepEqual(await push(url, OTEL, clientPoints({ 'app-a': 3, 'app-b': 5 })), { status: 200, body: {} });
    const raw = await byClient(url, 'PT1M');
    assert.deepEqual(raw.totals, { 'app-a': 180, 'app-b': 300 });
    assert.deepEqual([...new Set(raw.sources)], ['raw']);
  });
  const labels = ['topic', 'partition', 'principal_id', 'request_type', 'consumer_group_id', 'client_id'];
  assert.deepEqual(await columns('telemetry_raw'), ['__time', 'tenant_id', 'resource_id', 'metric', ...labels, 'value']);
  for (const rollup of ['rollup_1h', 'rollup_1d'])
    assert.deepEqual(await columns(rollup), [
      '__time',
      'tenant_id',
      'resource_id',
      'metric',
      'level',
      ...labels,
      'v_sum',
      'v_min',
      'v_max',
      'v_last',
      'minutes',
      'samples',
    ]);
  assert.deepEqual((await columns('ingest_series')).slice(4, 11), ['metric', ...labels]);
  const now = await fileRows(
    `SELECT (SELECT count(*) FROM telemetry_raw WHERE metric <> '${NAME}') AS raw, (SELECT count(*) FROM rollup_1h) AS h,
       (SELECT count(*) FROM ingest_points WHERE series_id IN (SELECT series_id FROM ingest_series WHERE metric <> '${NAME}')) AS p,
       (SELECT count(*) FROM ingest_series WHERE metric <> '${NAME}') AS s, (SELECT count(*) FROM telemetry_raw WHERE client_id IS NOT NULL) AS labelled`,
  );
  assert.deepEqual({ ...now[0], labelled: undefined }, { ...before[0], labelled: undefined });
  assert.equal(Number(now[0]?.['labelled']), 120);
});

test('the next start rebuilds the late buckets: an hourly query grouped by the new label is answered from rollup_1h', async () => {
  await serving({ STRATA_METRICS_FILE: registry }, async (url) => {
    const hourly = await byClient(url, 'PT1H');
    assert.deepEqual(hourly.totals, { 'app-a': 180, 'app-b': 300 });
    assert.deepEqual(hourly.sources, ['rollup_1h']);
    assert.deepEqual(hourly.levels, [['client_id']]);
  });
});

test('a registry without a label the file stores stops the start: a stored column is never dropped', async () => {
  const error = await startServer(db, env).then(
    (s) => s.stop().then(() => assert.fail('the server started')),
    (e: unknown) => String(e),
  );
  assert.match(error, /telemetry_raw has the label column\(s\) "client_id", which the metric registry no longer lists/);
  assert.match(error, /add each to the registry's "labels" \(STRATA_METRICS_FILE\) and start again/);
  assert.ok((await columns('telemetry_raw')).includes('client_id'));
});

test('a registry with a mistake stops the start, naming the file, the metric, the field and the fix', async () => {
  const broken = join(dir, 'broken.json');
  const bundled = JSON.parse(readFileSync(BUNDLED_METRICS_FILE, 'utf8')) as { labels: string[]; metrics: unknown[] };
  writeFileSync(
    broken,
    JSON.stringify({
      ...bundled,
      metrics: [
        ...bundled.metrics,
        { name: 'app.x', kind: 'GAUGE', unit: '1', description: 'x', labels: ['Client'], defaultAggregation: 'AVG' },
      ],
    }),
  );
  const error = await startServer(db, { ...env, STRATA_METRICS_FILE: broken }).then(
    (s) => s.stop().then(() => assert.fail('the server started')),
    (e: unknown) => String(e),
  );
  assert.match(error, new RegExp(`Invalid metric registry ${broken.replaceAll('.', '\\.')}:`));
  // An operator's mistake, said as one: no stack trace, no dump of the error's fields.
  assert.doesNotMatch(error, /at parseMetricRegistry|MetricRegistryError:|problems: \[/);
  assert.match(error, /metric "app\.x", labels\[0\]: "Client" is not a label name: .*\(e\.g\. "client"\) \[REGISTRY_BAD_LABEL\]/);
});
