import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../api/app.ts';
import { execute, principal, seededStore, testApp } from './helpers/fixture.ts';

/** Bad input gets a stable code and a message with the value, the limit and the fix. */
let app: App;
let k: string;
const M = 'io.confluent.kafka.server/';
const customer = () => principal('customer', 't-1');

before(async () => {
  app = await testApp(await seededStore());
  k = app.services.resources.list('t-1')[0]?.resourceId ?? '';
});
after(async () => app.close());

const ts = (q: string) =>
  `{ timeseries(query: { ${q} }) { series { labels { key value } points { value } } pageInfo { hasNextPage endCursor totalSeries } } }`;
const own = () => `filter: { field: "resource_id", op: EQ, value: "${k}" }`;

async function errorOf(query: string, who = customer()): Promise<{ code: unknown; message: string }> {
  const r = await execute(app, who, query);
  const e = r.errors?.[0];
  assert.ok(e, `expected an error for ${query}`);
  return { code: e.extensions?.['code'], message: e.message };
}

test('validation errors carry stable codes and actionable messages', async () => {
  const cases: [string, string, RegExp][] = [
    [ts(`metric: "nope", granularity: PT1H, interval: "now-1h/now", ${own()}`), 'UNKNOWN_METRIC', /Unknown metric "nope".*metrics/],
    [
      ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "now-1h/now", groupBy: ["partition"], ${own()}`),
      'UNKNOWN_LABEL',
      /"partition".*resource_id, topic/,
    ],
    [
      ts(`metric: "${M}received_bytes", granularity: PT1M, interval: "now-12h/now", ${own()}`),
      'RANGE_TOO_LARGE',
      /PT1M allows an interval of at most 6h, and 12h/,
    ],
    [ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "tomorrow", ${own()}`), 'INVALID_INTERVAL', /"tomorrow"/],
    [
      ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "now-1h/now", limit: 5000, ${own()}`),
      'LIMIT_OUT_OF_RANGE',
      /5000.*1 to 1000/,
    ],
    [
      ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "now-1h/now", filter: { field: "topic", op: EQ }`),
      'INVALID_FILTER',
      /needs a "value"/,
    ],
    [ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "now-1h/now", after: "bogus", ${own()}`), 'INVALID_CURSOR', /cursor/],
    [ts(`metric: "${M}received_bytes", granularity: PT1H, interval: "now-1h/now", source: RAW, ${own()}`), 'FORBIDDEN', /internal/],
  ];
  for (const [query, code, message] of cases) {
    const e = await errorOf(query);
    assert.equal(e.code, code, query);
    assert.match(e.message, message);
  }
});

test('GraphQL depth, alias and field-count limits', async () => {
  const aliases = Array.from({ length: 40 }, (_, i) => `m${i}: metrics { name }`).join(' ');
  const tooMany = await errorOf(`{ ${aliases} }`);
  assert.equal(tooMany.code, 'QUERY_TOO_COMPLEX');
  assert.match(tooMany.message, /Aliases limit of 30 exceeded, found 40/);
  const panels = Array.from(
    { length: 25 },
    (_, i) =>
      `p${i}: timeseries(query: { metric: "${M}received_bytes", granularity: ALL, interval: "now-1h/now", ${own()} }) { pageInfo { totalSeries } }`,
  ).join(' ');
  const r = await execute(app, customer(), `{ ${panels} }`);
  assert.ok(r.errors?.some((e) => e.extensions?.['code'] === 'QUERY_TOO_COMPLEX' || /cost|alias/i.test(e.message)));
});

test('pagination: cursors page through series without overlap, bound to their query', async () => {
  const base = `metric: "${M}retained_bytes", granularity: ALL, interval: "now-1h/now", groupBy: ["topic", "partition"], ${own()}, limit: 4`;
  const first = await execute(app, customer(), ts(base));
  const page1 = first.data?.['timeseries'] as {
    series: { labels: { value: string }[] }[];
    pageInfo: { endCursor: string; totalSeries: number; hasNextPage: boolean };
  };
  assert.equal(page1.pageInfo.totalSeries, 6);
  assert.equal(page1.pageInfo.hasNextPage, true);
  const second = await execute(app, customer(), ts(`${base}, after: "${page1.pageInfo.endCursor}"`));
  const page2 = second.data?.['timeseries'] as typeof page1;
  assert.equal(page2.series.length, 2);
  assert.equal(page2.pageInfo.hasNextPage, false);
  const labels = [...page1.series, ...page2.series].map((s) => s.labels.map((l) => l.value).join('/'));
  assert.equal(new Set(labels).size, 6);
  const reused = await errorOf(
    ts(
      `metric: "${M}sent_bytes", granularity: ALL, interval: "now-1h/now", groupBy: ["topic"], ${own()}, after: "${page1.pageInfo.endCursor}"`,
    ),
  );
  assert.equal(reused.code, 'INVALID_CURSOR');
});

test('order by value gives a top-N', async () => {
  const r = await execute(
    app,
    principal('internal'),
    ts(
      `metric: "${M}request_count", granularity: ALL, interval: "now-1h/now", groupBy: ["resource_id"], orderBy: { by: VALUE, direction: DESC }, limit: 3`,
    ),
  );
  const values = (r.data?.['timeseries'] as { series: { points: { value: number }[] }[] }).series.map((s) => s.points[0]?.value ?? 0);
  assert.equal(values.length, 3);
  assert.deepEqual(
    values,
    [...values].sort((a, b) => b - a),
  );
});

test('an unexpected error is masked: no stack, no SQL, an id to report', async () => {
  const original = app.services.store.queryPieces.bind(app.services.store);
  app.services.store.queryPieces = async () => {
    throw new Error('Binder Error: SELECT secret FROM telemetry_raw at /work/main/store/duckdb/duckdb-store.ts:42');
  };
  try {
    const e = await errorOf(ts(`metric: "${M}sent_records", granularity: ALL, interval: "now-3h/now", ${own()}`));
    assert.equal(e.code, 'INTERNAL');
    assert.doesNotMatch(e.message, /SELECT|telemetry_raw|duckdb|\.ts/);
    assert.match(e.message, /id [a-z0-9]+/);
  } finally {
    app.services.store.queryPieces = original;
  }
});

test('arguments as literals or as variables (the recursive Filter input included) give the same answer', async () => {
  const fields = 'series { labels { key value } points { timestamp value } } pageInfo { hasNextPage endCursor totalSeries }';
  const args = `metric: "${M}received_bytes", granularity: PT1H, interval: "now-6h/now", groupBy: ["topic"]`;
  const inline = await execute(app, customer(), `{ timeseries(query: { ${args}, ${own()} }) { ${fields} } }`);
  const query = {
    metric: `${M}received_bytes`,
    granularity: 'PT1H',
    interval: 'now-6h/now',
    groupBy: ['topic'],
    filter: { field: 'resource_id', op: 'EQ', value: k },
  };
  const viaVariables = await execute(app, customer(), `query Q($q: TimeseriesQuery!) { timeseries(query: $q) { ${fields} } }`, {
    q: query,
  });
  assert.equal(inline.errors, undefined);
  assert.deepEqual(viaVariables, inline);
  assert.ok(((inline.data?.['timeseries'] as { series: unknown[] }).series.length ?? 0) > 1);
  // A variable of the wrong type is the client's error.
  const bad = await execute(
    app,
    customer(),
    `query Q($n: Int) { timeseries(query: { ${args}, ${own()}, limit: $n }) { pageInfo { totalSeries } } }`,
    { n: 'ten' },
  );
  assert.equal(bad.errors?.[0]?.extensions?.['code'], 'BAD_USER_INPUT');
});

test('timestamps and values are the points as two parallel lists, gaps included', async () => {
  type Columns = { points: { timestamp: string; value: number }[]; timestamps: string[]; values: number[] };
  const args = `metric: "${M}retained_bytes", granularity: PT1M, interval: "now-6h/now", groupBy: ["topic", "partition"], ${own()}`;
  const r = await execute(
    app,
    customer(),
    `{ timeseries(query: { ${args} }) { series { points { timestamp value } timestamps values } } }`,
  );
  assert.equal(r.errors, undefined);
  const series = (r.data?.['timeseries'] as { series: Columns[] }).series;
  assert.equal(series.length, 6);
  for (const s of series) {
    assert.deepEqual(
      s.timestamps,
      s.points.map((p) => p.timestamp),
    );
    assert.deepEqual(
      s.values,
      s.points.map((p) => p.value),
    );
  }
  // The seed leaves about 1 % of minutes empty: the lists skip them as points does.
  assert.ok(
    series.some((s) => s.points.length < 360),
    'some series has an empty minute',
  );
});
