import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ReferenceAggregator } from '../../aggregator/reference-aggregator.ts';
import { createApp, type App } from '../../api/app.ts';
import { HOUR_MS } from '../../catalog/catalog.ts';
import { loadConfig } from '../../config/config.ts';
import type { AggregationEvent } from '../../events/aggregation-event.ts';
import { MemoryBus } from '../../events/memory-bus.ts';
import { col, table } from '../../store/druid/druid-sql.ts';
import { DruidStore } from '../../store/druid/druid-store.ts';
import { INTERNAL_DOCUMENT, USAGE_DOCUMENT, dashboardDocument, withoutStats } from '../helpers/documents.ts';
import { execute, principal, type GqlResult } from '../helpers/fixture.ts';
import { ROOT, graphql, npmSeed, npmToken, startServer, type RunningServer } from '../helpers/server-process.ts';
import { freePort } from '../helpers/services.ts';

/**
 * `npm start` on a real Druid (scripts/druid.sh) next to `npm start` on the
 * DuckDB file the Druid data was loaded from (scripts/druid/load.ts): the
 * same operations over HTTP must answer the same. Then the reference
 * aggregator on Druid: an event is published only once the MSQ-rebuilt
 * rollup answers queries, and the served answer follows.
 */
const DRUID_URL = process.env['DRUID_URL'];
const DRUID_COORDINATOR_URL = process.env['DRUID_COORDINATOR_URL'];
if (!DRUID_URL || !DRUID_COORDINATOR_URL) {
  throw new Error(
    'druid-server needs a running Druid: scripts/druid.sh start && eval "$(scripts/druid.sh env)" && export DRUID_URL DRUID_COORDINATOR_URL',
  );
}
const END_ISO = '2026-11-20T00:00:00Z';
const END = Date.parse(END_ISO);
const M = 'io.confluent.kafka.server/received_bytes';
const env = { STRATA_NOW: END_ISO, STRATA_LOG_LEVEL: 'warn', STRATA_AGGREGATE_EVERY: '0' };
const druidEnv = { ...env, STRATA_STORE: 'druid', DRUID_URL, DRUID_COORDINATOR_URL };
const iso = (ms: number): string => new Date(ms).toISOString();

let dir: string;
let duckServer: RunningServer | undefined;
let druidServer: RunningServer | undefined;
const tokens: Record<string, string> = {};
const clusters: Record<string, string[]> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-druid-server-'));
  const db = join(dir, 'strata.duckdb');
  // Smaller than the conformance fixture: loading into Druid dominates this file's time.
  await npmSeed(db, { seed: 5, tenants: 2, clusters: 2, topics: 2, partitions: 2, days: 2, end: END_ISO });
  const loaded = execFileSync('npx', ['tsx', 'scripts/druid/load.ts', '--db', db], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DRUID_URL, DRUID_COORDINATOR_URL },
  });
  console.log(loaded.trim());
  const started = Date.now();
  // Both catch rollup_1h up by one hour at start (seeded rollups end 2 h before END): MSQ on Druid.
  [duckServer, druidServer] = await Promise.all([startServer(db, env), startServer(undefined, druidEnv, 240_000)]);
  console.log(`servers up in ${Date.now() - started} ms`);
  tokens['t1'] = npmToken(['--role', 'customer', '--tenant', 't-1'], env);
  tokens['internal'] = npmToken(['--role', 'internal'], env);
  tokens['billing'] = npmToken(['--role', 'billing'], env);
  const listed = await graphql(duckServer.url, tokens['internal'], '{ resources { id tenantId } }');
  for (const r of listed.body.data?.['resources'] as { id: string; tenantId: string }[]) (clusters[r.tenantId] ??= []).push(r.id);
});

after(async () => {
  await Promise.all([duckServer?.stop(), druidServer?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('npm start on Druid serves what is in Druid: the same answers over HTTP as npm start on DuckDB', async () => {
  assert.match(
    druidServer?.output() ?? '',
    /Strata is serving Druid at http:\/\/127\.0\.0\.1:\d+ \(1 aggregation events published at start-up\)/,
  );
  assert.match(duckServer?.output() ?? '', /\(1 aggregation events published at start-up\)/);
  const own = clusters['t-1']?.[0] ?? '';
  const foreign = clusters['t-2']?.[0] ?? '';
  const operations: [string, string][] = [
    ['t1', '{ resources { id tenantId } metrics { name unit } }'],
    ['t1', dashboardDocument(own)],
    ['internal', INTERNAL_DOCUMENT],
    ['billing', USAGE_DOCUMENT],
    ['t1', dashboardDocument(own)], // again: now from each server's cache
  ];
  for (const [who, document] of operations) {
    const [onDruid, onDuck] = await Promise.all([
      graphql(druidServer!.url, tokens[who], document),
      graphql(duckServer!.url, tokens[who], document),
    ]);
    assert.equal(onDruid.status, 200, JSON.stringify(onDruid.body.errors));
    assert.equal(onDruid.body.errors, undefined, JSON.stringify(onDruid.body.errors));
    assert.equal(onDuck.body.errors, undefined, JSON.stringify(onDuck.body.errors));
    assert.deepEqual(withoutStats(onDruid.body.data), withoutStats(onDuck.body.data), `${who}: ${document.slice(0, 60)}`);
  }
  const sources = JSON.stringify((await graphql(druidServer!.url, tokens['t1'], dashboardDocument(own))).body.data);
  assert.ok(sources.includes('"rollup_1h"') && sources.includes('"raw"'), 'the dashboard reads rollups and raw data from Druid');
  const denied = await graphql(druidServer!.url, tokens['t1'], dashboardDocument(foreign));
  assert.equal(denied.body.errors?.[0]?.extensions?.code, 'RESOURCE_NOT_FOUND', 'tenant scoping holds on the Druid server');
});

test('npm start on Druid stops at once, saying why, when Druid or its overlord does not answer', async () => {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const start = (extra: Record<string, string>): { status: number | null; stderr: string } => {
    const run = spawnSync('npm', ['start', '--silent', '--', '--port', '0'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ...druidEnv, ...extra },
    });
    return { status: run.status, stderr: run.stderr };
  };
  const broker = start({ DRUID_URL: nowhere });
  assert.equal(broker.status, 1);
  assert.match(
    broker.stderr,
    /^Cannot serve from Druid: Druid is not answering at DRUID_URL=http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)\. Start it \(scripts\/druid\.sh start\) or fix DRUID_URL\./m,
  );
  const overlord = start({ DRUID_COORDINATOR_URL: nowhere });
  assert.equal(overlord.status, 1);
  assert.match(overlord.stderr, /The Druid overlord is not answering at DRUID_COORDINATOR_URL=.*Fix DRUID_COORDINATOR_URL\./);
  const unset = start({ DRUID_COORDINATOR_URL: '' });
  assert.equal(unset.status, 1);
  assert.match(unset.stderr, /DRUID_COORDINATOR_URL is not set/);
});

/** A bus that, at the moment of each publish, first looks at what Druid answers. */
class ObservingBus extends MemoryBus {
  onPublish: ((event: AggregationEvent) => Promise<void>) | undefined;
  override async publish(event: AggregationEvent, headers?: Record<string, string>): Promise<void> {
    await this.onPublish?.(event);
    return super.publish(event, headers);
  }
}

let druid: DruidStore;
let bus: ObservingBus;
let app: App;

async function inProcessApp(): Promise<void> {
  druid ??= new DruidStore({ url: DRUID_URL!, coordinatorUrl: DRUID_COORDINATOR_URL });
  bus ??= new ObservingBus();
  app ??= await createApp(loadConfig({}, { STRATA_ENV: 'test', STRATA_NOW: END_ISO, STRATA_LOG_LEVEL: 'silent' }), { store: druid, bus });
}
after(async () => {
  await app?.close();
});

const hourQuery = (
  cluster: string,
  start: number,
): string => `{ timeseries(query: { metric: "${M}", granularity: PT1H, interval: "${iso(start)}/${iso(start + HOUR_MS)}",
  filter: { field: "resource_id", op: EQ, value: "${cluster}" } }) { series { points { value } } plan { fragments { source } operation { storeQueries } } } }`;
type Answer = { value: number; sources: string[]; storeQueries: number };
function answer(result: GqlResult): Answer {
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  const ts = result.data?.['timeseries'] as {
    series: { points: { value: number }[] }[];
    plan: { fragments: { source: string }[]; operation: { storeQueries: number } };
  };
  return {
    value: ts.series[0]?.points[0]?.value ?? NaN,
    sources: ts.plan.fragments.map((f) => f.source),
    storeQueries: ts.plan.operation.storeQueries,
  };
}

/** What Druid's rollup_1h holds for one hour of one cluster, at the cluster level, read directly. */
async function rollupHour(cluster: string, start: number): Promise<number> {
  const rows = await druid.client.sql(
    `SELECT SUM(${col('v_sum')}) AS "v" FROM ${table('rollup_1h')} WHERE ${col('__time')} = MILLIS_TO_TIMESTAMP(?) AND ${col('resource_id')} = ? AND ${col('metric')} = ? AND (${col('level')} IS NULL OR ${col('level')} = '')`,
    [
      { type: 'BIGINT', value: start },
      { type: 'VARCHAR', value: cluster },
      { type: 'VARCHAR', value: M },
    ],
  );
  return Number(rows[0]?.['v'] ?? NaN);
}

test('late data: the MSQ rebuild answers before its event is published, and the served answer follows', async () => {
  await inProcessApp();
  const cluster = clusters['t-1']?.[0] ?? '';
  const who = principal('customer', 't-1');
  const hour = END - 4 * HOUR_MS;
  const first = answer(await execute(app, who, hourQuery(cluster, hour)));
  assert.deepEqual(first.sources, ['rollup_1h']);
  assert.equal(await rollupHour(cluster, hour), first.value);
  const late = 5000;
  const rawBefore = Number((await druid.client.sql(`SELECT COUNT(*) AS "n" FROM ${table('telemetry_raw')}`, []))[0]?.['n']);
  const row = {
    ts: hour + 7 * 60_000,
    tenant_id: 't-1',
    resource_id: cluster,
    metric: M,
    topic: 'late-topic',
    partition: '0',
    value: late,
  };
  await druid.ingest(
    'telemetry_raw',
    `INSERT INTO ${table('telemetry_raw')}
SELECT MILLIS_TO_TIMESTAMP(${col('ts')}) AS ${col('__time')}, ${col('tenant_id')}, ${col('resource_id')}, ${col('metric')}, ${col('topic')}, ${col('partition')}, ${col('value')}
FROM TABLE(EXTERN('${JSON.stringify({ type: 'inline', data: JSON.stringify(row) })}', '{"type":"json"}',
  '[{"name":"ts","type":"long"},{"name":"tenant_id","type":"string"},{"name":"resource_id","type":"string"},{"name":"metric","type":"string"},{"name":"topic","type":"string"},{"name":"partition","type":"string"},{"name":"value","type":"double"}]'))
PARTITIONED BY DAY`,
  );
  for (
    let i = 0;
    Number((await druid.client.sql(`SELECT COUNT(*) AS "n" FROM ${table('telemetry_raw')}`, []))[0]?.['n']) !== rawBefore + 1;
    i++
  ) {
    assert.ok(i < 400, 'the late row never became visible in Druid');
    await new Promise((r) => setTimeout(r, 250));
  }
  const stale = answer(await execute(app, who, hourQuery(cluster, hour)));
  assert.deepEqual([stale.value, stale.storeQueries], [first.value, 0], 'until the rollup is republished, the cached answer stands');
  const seenAtPublish: { datasource: string; interval: string; rollup: number }[] = [];
  bus.onPublish = async (event) =>
    void seenAtPublish.push({ datasource: event.datasource, interval: event.interval, rollup: await rollupHour(cluster, hour) });
  const started = Date.now();
  await app.aggregator.publish('rollup_1h', { start: hour, end: hour + HOUR_MS });
  console.log(`late data: MSQ rebuild of one hour and publish in ${Date.now() - started} ms`);
  assert.deepEqual(
    seenAtPublish,
    [{ datasource: 'rollup_1h', interval: `${iso(hour)}/${iso(hour + HOUR_MS)}`, rollup: first.value + late }],
    'Druid already answered with the rebuilt hour when the event went out',
  );
  const fresh = answer(await execute(app, who, hourQuery(cluster, hour)));
  assert.deepEqual(fresh, { value: first.value + late, sources: ['rollup_1h'], storeQueries: 1 });
});

test('a new hour closes: runOnce builds it with MSQ and publishes only then; the hour moves from raw to the rollup', async () => {
  await inProcessApp();
  const cluster = clusters['t-1']?.[0] ?? '';
  const who = principal('customer', 't-1');
  const hour = END - HOUR_MS;
  assert.equal((await druid.readWatermarks()).rollup_1h, hour, 'the Druid server caught up to one hour before END at start');
  const before = answer(await execute(app, who, hourQuery(cluster, hour)));
  assert.deepEqual(before.sources, ['raw']);
  const seenAtPublish: { datasource: string; watermark: number; hourInRollup: number }[] = [];
  bus.onPublish = async (event) =>
    void seenAtPublish.push({
      datasource: event.datasource,
      watermark: (await druid.readWatermarks())[event.datasource] ?? 0,
      hourInRollup: await rollupHour(cluster, hour),
    });
  const aggregator = new ReferenceAggregator(druid, bus, () => END + 10 * 60_000);
  const started = Date.now();
  const events = await aggregator.runOnce();
  console.log(`new hour: runOnce (rollup_1h one hour, rollup_1d one day) in ${Date.now() - started} ms`);
  assert.deepEqual(
    events.map((e) => [e.datasource, e.interval]),
    [
      ['rollup_1h', `${iso(hour)}/${END_ISO.replace('Z', '.000Z')}`],
      ['rollup_1d', `${iso(END - 24 * HOUR_MS)}/${END_ISO.replace('Z', '.000Z')}`],
    ],
  );
  assert.deepEqual(
    seenAtPublish,
    [
      { datasource: 'rollup_1h', watermark: END, hourInRollup: before.value },
      { datasource: 'rollup_1d', watermark: END, hourInRollup: before.value },
    ],
    'each event went out only after its rollup and watermark were queryable in Druid',
  );
  const after = answer(await execute(app, who, hourQuery(cluster, hour)));
  assert.deepEqual(after, { value: before.value, sources: ['rollup_1h'], storeQueries: 1 });
});
