import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createApp, type App } from '../../api/app.ts';
import { ErrorCode, isStrataError } from '../../errors/strata-error.ts';
import { DAY_MS, HOUR_MS, LABEL_COLUMNS } from '../../catalog/catalog.ts';
import { loadConfig } from '../../config/config.ts';
import type { TimeseriesResult } from '../../pipeline/timeseries-pipeline.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { loadDruidFromDuckDb } from '../../scripts/druid/load-from-duckdb.ts';
import { DruidStore } from '../../store/druid/druid-store.ts';
import { col, table } from '../../store/druid/druid-sql.ts';
import { INTERNAL_DOCUMENT, USAGE_DOCUMENT, dashboardDocument, withoutStats } from '../helpers/documents.ts';
import { END, execute, outcome, principal, runDirect, seededStore, testApp, type GqlResult, type Outcome } from '../helpers/fixture.ts';
import { randomCase } from '../helpers/random-queries.ts';

/**
 * Conformance of the Druid store against the DuckDB reference, on a real Druid
 * cluster (scripts/druid.sh): the same seeded data in both, then random
 * queries, usage, cancellation and an MSQ rollup build must agree exactly.
 */
const DRUID_URL = process.env['DRUID_URL'];
const DRUID_COORDINATOR_URL = process.env['DRUID_COORDINATOR_URL'];
if (!DRUID_URL || !DRUID_COORDINATOR_URL) {
  throw new Error(
    'druid-conformance needs a running Druid: scripts/druid.sh start && eval "$(scripts/druid.sh env)" && export DRUID_URL DRUID_COORDINATOR_URL',
  );
}

const APP_ENV = {
  STRATA_ENV: 'test',
  STRATA_NOW: new Date(END).toISOString(),
  STRATA_LOG_LEVEL: 'silent',
  STRATA_CACHE_MAX_MB: '1',
} as const;

let duck: DuckDbStore;
let druid: DruidStore;
let duckApp: App;
let druidApp: App;
let clustersOf: Record<string, string[]>;

before(async () => {
  const t0 = Date.now();
  duck = await seededStore();
  druid = new DruidStore({ url: DRUID_URL, coordinatorUrl: DRUID_COORDINATOR_URL, timeoutMs: 60_000 });
  await druid.ping();
  const t1 = Date.now();
  const { counts, timings } = await loadDruidFromDuckDb(duck, druid);
  console.log(
    `fixture: DuckDB seed ${t1 - t0} ms, Druid load ${Date.now() - t1} ms, rows ${JSON.stringify(counts)}, ms per datasource ${JSON.stringify(timings)}`,
  );
  duckApp = await testApp(duck, { STRATA_CACHE_MAX_MB: '1' });
  druidApp = await createApp(loadConfig({}, APP_ENV), { store: druid });
  clustersOf = {};
  for (const r of duckApp.services.resources.list(undefined)) (clustersOf[r.tenantId] ??= []).push(r.resourceId);
});

after(async () => {
  await druidApp?.close();
  await duckApp?.close();
  await druid?.close();
  await duck?.close();
});

test('the same resources and watermarks in both stores', async () => {
  assert.deepEqual(await druid.listResources({ kind: 'all' }), await duck.listResources({ kind: 'all' }));
  const tenant = Object.keys(clustersOf)[0] ?? '';
  assert.deepEqual(
    await druid.listResources({ kind: 'tenant', tenantId: tenant }),
    await duck.listResources({ kind: 'tenant', tenantId: tenant }),
  );
  assert.deepEqual(await druid.readWatermarks(), await duck.readWatermarks());
  assert.deepEqual(await druid.rawDataRange(), await duck.rawDataRange());
});

test('the GraphQL operations (dashboard, internal panels, billing usage) answer the same on Druid and DuckDB', async () => {
  const cluster = clustersOf['t-1']?.[0] ?? '';
  const operations: [ReturnType<typeof principal>, string][] = [
    [principal('customer', 't-1'), dashboardDocument(cluster)],
    [principal('internal'), INTERNAL_DOCUMENT],
    [principal('billing'), USAGE_DOCUMENT],
  ];
  for (const [who, document] of operations) {
    const onDruid: GqlResult = await execute(druidApp, who, document);
    const onDuck: GqlResult = await execute(duckApp, who, document);
    assert.equal(onDruid.errors, undefined, JSON.stringify(onDruid.errors));
    assert.equal(onDuck.errors, undefined, JSON.stringify(onDuck.errors));
    assert.deepEqual(withoutStats(onDruid.data), withoutStats(onDuck.data), `${who.role} operation differs`);
  }
  const dashboard = await execute(druidApp, principal('customer', 't-1'), dashboardDocument(clustersOf['t-2']?.[0] ?? ''));
  assert.equal(dashboard.errors?.[0]?.extensions?.['code'], 'RESOURCE_NOT_FOUND', 'tenant scoping holds on Druid too');
  const cold = await execute(druidApp, principal('customer', 't-2'), dashboardDocument(clustersOf['t-2']?.[0] ?? ''));
  const stats = (cold.data?.['p0'] as { plan: { operation: { storeQueries: number } } }).plan.operation;
  assert.ok(stats.storeQueries <= 2, `a 12-panel dashboard on Druid costs ${stats.storeQueries} store queries`);
});

test('250 random queries: Druid routed == Druid forced raw == DuckDB routed', async () => {
  let runs = 0;
  let rejected = 0;
  let split = 0;
  let withoutRaw = 0;
  await fc.assert(
    fc.asyncProperty(randomCase(END - 3 * DAY_MS, END, clustersOf), async ({ tenant, args }) => {
      const who = tenant ? principal('customer', tenant) : principal('internal');
      const [druidRouted, druidRaw, duckRouted] = await Promise.all([
        outcome(() => runDirect(druidApp, who, args)),
        outcome(() => runDirect(druidApp, who, args, true)),
        outcome(() => runDirect(duckApp, who, args)),
      ]);
      runs += 1;
      if (!druidRouted.ok || !druidRaw.ok || !duckRouted.ok) {
        rejected += 1;
        const code = (o: Outcome): string => (o.ok ? 'ok' : o.code);
        assert.deepEqual(
          [code(druidRouted), code(druidRaw)],
          [code(duckRouted), code(duckRouted)],
          `all paths must fail alike for ${JSON.stringify(args)}`,
        );
        return;
      }
      const sources = new Set(druidRouted.result.plan.fragments.map((f) => f.source));
      if (sources.size > 1) split += 1;
      if (!sources.has('raw')) withoutRaw += 1;
      const what = `${JSON.stringify(args)} tenant=${tenant ?? '*'} via ${[...sources].join('+')}`;
      assert.deepEqual(druidRouted.result.series, duckRouted.result.series, `druid routed != duckdb routed for ${what}`);
      assert.deepEqual(druidRaw.result.series, duckRouted.result.series, `druid raw != duckdb routed for ${what}`);
      assert.equal(druidRouted.result.pageInfo.totalSeries, duckRouted.result.pageInfo.totalSeries);
      const fragments = (r: TimeseriesResult): unknown[] => r.plan.fragments.map(({ cacheHits: _hits, ...f }) => f);
      assert.deepEqual(fragments(druidRouted.result), fragments(duckRouted.result), `plans differ for ${what}`);
    }),
    { numRuns: 250, seed: 20261123, endOnFailure: true },
  );
  console.log(`druid differential: ${runs} queries, ${withoutRaw} without raw, ${split} split, ${rejected} rejected alike`);
  assert.equal(runs, 250);
  assert.ok(split > 5, `ragged edges and fresh tails must be exercised (got ${split})`);
});

test('usage: exact integer sums equal on Druid and DuckDB', async () => {
  const marks = await duck.readWatermarks();
  const interval = { start: END - 3 * DAY_MS, end: END };
  for (const scope of [{ kind: 'all' } as const, { kind: 'tenant', tenantId: Object.keys(clustersOf)[1] ?? '' } as const]) {
    for (const rollupUntil of [marks.rollup_1d!, interval.start]) {
      const request = { scope, interval, rollupUntil };
      const [a, b] = await Promise.all([druid.usage(request), duck.usage(request)]);
      assert.ok(b.length > 0);
      assert.deepEqual(a, b, `usage differs for ${JSON.stringify({ scope, rollupUntil })}`);
    }
  }
});

test('cancellation: an aborted slow query rejects with UPSTREAM_TIMEOUT and stops running in Druid', async () => {
  // 12-way self cross join of the 6-row resources datasource: 6^12 rows, far beyond a few seconds.
  let slow = `SELECT COUNT(*) AS "n" FROM ${table('resources')} t0`;
  for (let i = 1; i < 12; i++) slow += ` CROSS JOIN ${table('resources')} t${i}`;
  const queryId = `strata-cancel-${Date.now()}`;
  const controller = new AbortController();
  const started = Date.now();
  const running = druid.client.sql(slow, [], { signal: controller.signal, queryId, lane: 'internal', timeoutMs: 120_000 });
  const timer = setTimeout(() => controller.abort(), 1_000);
  let abortedAt = 0;
  controller.signal.addEventListener('abort', () => (abortedAt = Date.now()));
  await assert.rejects(running, (error: unknown) => isStrataError(error) && error.code === ErrorCode.UPSTREAM_TIMEOUT);
  clearTimeout(timer);
  const rejectedAfter = Date.now() - abortedAt;
  console.log(`cancellation: aborted after ${abortedAt - started} ms, rejected ${rejectedAfter} ms after the abort`);
  // A bound on liveness, not speed: the query itself would run for minutes, so rejecting within
  // seconds of the abort shows it was cancelled, not waited for (the figure is printed above).
  assert.ok(abortedAt > 0 && rejectedAfter < 30_000, `must reject after the abort, not when the query ends (took ${rejectedAfter} ms)`);
  // The client's own DELETE is best effort and asynchronous: Druid must forget the query within a few seconds.
  const deadline = Date.now() + 5_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = await druid.client.cancel(queryId);
    if (status === 404) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`cancellation: a later DELETE /druid/v2/sql/${queryId} answers ${status} after ${Date.now() - started} ms`);
  assert.equal(status, 404, 'Druid must no longer run the cancelled query');
  // And the cluster still answers.
  await druid.ping();
});

test('errors from the real cluster map to Strata codes', async () => {
  // Invalid SQL is our own bug: a plain Error (masked as INTERNAL at the edge) keeping Druid's message.
  const invalid = await druid.client.sql(`SELECT ${col('no_such_column')} FROM ${table('resources')}`, []).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(invalid instanceof Error && !isStrataError(invalid), `expected a plain Error, got ${String(invalid)}`);
  assert.match(invalid.message, /no_such_column/);
  // Druid's own timeout (504, category TIMEOUT).
  let slow = `SELECT COUNT(*) AS "n" FROM ${table('resources')} t0`;
  for (let i = 1; i < 12; i++) slow += ` CROSS JOIN ${table('resources')} t${i}`;
  const started = Date.now();
  await assert.rejects(
    druid.client.sql(slow, [], { timeoutMs: 500 }),
    (error: unknown) => isStrataError(error) && error.code === ErrorCode.UPSTREAM_TIMEOUT,
  );
  console.log(`errors: Druid-side timeout of 500 ms surfaced after ${Date.now() - started} ms`);
  // Nothing listening: UPSTREAM_UNAVAILABLE.
  const nowhere = new DruidStore({ url: 'http://127.0.0.1:1' });
  await assert.rejects(nowhere.ping(), (error: unknown) => isStrataError(error) && error.code === ErrorCode.UPSTREAM_UNAVAILABLE);
});

test('buildRollup via MSQ after late raw data gives the same rollup rows as DuckDB', async () => {
  const marks = await duck.readWatermarks();
  const hour = { start: marks.rollup_1h! - 3 * HOUR_MS, end: marks.rollup_1h! - 2 * HOUR_MS };
  const [tenant, clusters] = Object.entries(clustersOf)[0] ?? ['', []];
  const cluster = clusters[0] ?? '';
  const metric = 'io.confluent.kafka.server/received_bytes';
  // Late rows: a new topic in that hour, two partitions, a few minutes.
  const late = [0, 1, 2, 30, 59].flatMap((m) =>
    ['0', '1'].map((partition) => ({
      ts: hour.start + m * 60_000,
      tenant_id: tenant,
      resource_id: cluster,
      metric,
      topic: 'late',
      partition,
      value: 1000 + m * 7 + Number(partition),
    })),
  );
  for (const r of late) {
    await duck.exec(
      `INSERT INTO telemetry_raw (__time, tenant_id, resource_id, metric, topic, "partition", value) VALUES (epoch_ms(CAST(? AS BIGINT)), ?, ?, ?, ?, ?, ?)`,
      [r.ts, r.tenant_id, r.resource_id, r.metric, r.topic, r.partition, r.value],
    );
  }
  const rawBefore = Number((await druid.client.sql(`SELECT COUNT(*) AS "n" FROM ${table('telemetry_raw')}`, []))[0]?.['n']);
  const t0 = Date.now();
  await druid.ingest(
    'telemetry_raw',
    `INSERT INTO ${table('telemetry_raw')}
SELECT MILLIS_TO_TIMESTAMP(${col('ts')}) AS ${col('__time')}, ${col('tenant_id')}, ${col('resource_id')}, ${col('metric')}, ${col('topic')}, ${col('partition')}, ${col('value')}
FROM TABLE(EXTERN('${JSON.stringify({ type: 'inline', data: late.map((r) => JSON.stringify(r)).join('\n') }).replaceAll("'", "''")}', '{"type":"json"}',
  '[{"name":"ts","type":"long"},{"name":"tenant_id","type":"string"},{"name":"resource_id","type":"string"},{"name":"metric","type":"string"},{"name":"topic","type":"string"},{"name":"partition","type":"string"},{"name":"value","type":"double"}]'))
PARTITIONED BY DAY`,
  );
  for (let i = 0; ; i++) {
    const n = Number((await druid.client.sql(`SELECT COUNT(*) AS "n" FROM ${table('telemetry_raw')}`, []))[0]?.['n']);
    if (n === rawBefore + late.length) break;
    assert.ok(i < 200, 'late rows not visible in Druid');
    await new Promise((r) => setTimeout(r, 250));
  }
  const t1 = Date.now();
  const [druidTouched, duckTouched] = [await druid.buildRollup('rollup_1h', hour), await duck.buildRollup('rollup_1h', hour)];
  console.log(`buildRollup: late insert visible in ${t1 - t0} ms, MSQ rebuild of one hour ${Date.now() - t1} ms`);
  assert.deepEqual(druidTouched, duckTouched);

  const labels = LABEL_COLUMNS.map((c) => `"${c}"`).join(', ');
  const duckRows = await duck.read(
    `SELECT CAST(epoch_ms(__time) AS BIGINT) AS t, tenant_id, resource_id, metric, level, ${labels}, v_sum, v_min, v_max, v_last, minutes, samples
     FROM rollup_1h WHERE __time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))`,
    [hour.start, hour.end],
  );
  const druidRows = await druid.client.sql(
    `SELECT TIMESTAMP_TO_MILLIS(${col('__time')}) AS "t", ${col('tenant_id')}, ${col('resource_id')}, ${col('metric')}, ${col('level')}, ${LABEL_COLUMNS.map(col).join(', ')},
       ${col('v_sum')}, ${col('v_min')}, ${col('v_max')}, ${col('v_last')}, ${col('minutes')}, ${col('samples')}
     FROM ${table('rollup_1h')} WHERE ${col('__time')} >= MILLIS_TO_TIMESTAMP(?) AND ${col('__time')} < MILLIS_TO_TIMESTAMP(?)`,
    [
      { type: 'BIGINT', value: hour.start },
      { type: 'BIGINT', value: hour.end },
    ],
  );
  const norm = (r: Record<string, unknown>): string =>
    JSON.stringify([
      Number(r['t']),
      r['tenant_id'],
      r['resource_id'],
      r['metric'],
      r['level'] ?? '',
      ...LABEL_COLUMNS.map((c) => (r[c] === '' || r[c] === undefined ? null : r[c])),
      ...['v_sum', 'v_min', 'v_max', 'v_last', 'minutes', 'samples'].map((c) => Number(r[c])),
    ]);
  const a = druidRows.map(norm).sort();
  const b = duckRows.map(norm).sort();
  assert.ok(
    b.some((s) => s.includes('"late"')),
    'the late topic must be in the rebuilt hour',
  );
  assert.equal(a.length, b.length);
  assert.deepEqual(a, b);
  // The queries over that hour agree too (rollup vs raw, Druid vs DuckDB).
  assert.deepEqual(
    await druid.usage({ scope: { kind: 'all' }, interval: { start: END - 3 * DAY_MS, end: END }, rollupUntil: marks.rollup_1d! }),
    await duck.usage({ scope: { kind: 'all' }, interval: { start: END - 3 * DAY_MS, end: END }, rollupUntil: marks.rollup_1d! }),
  );
});
