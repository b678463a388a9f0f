import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { graphql, npmSeed, npmToken, startServer, type RunningServer } from './helpers/server-process.ts';

/**
 * `npm start` keeps its demo alive: the feed (demo/demo-feed.ts, the real
 * OpenTelemetry SDK with its protobuf exporter) pushes every cluster's
 * telemetry through the server's own POST /v1/metrics, so the last minutes
 * have data for GraphQL (the minute under way included) and for /export
 * (the last closed minute). Here the feed pushes every second.
 */
let dir: string;
let server: RunningServer;
let token: string;
let cluster: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-feed-'));
  const db = join(dir, 'feed.duckdb');
  // Yesterday's history only: what the last minutes hold comes from the feed.
  const end = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString();
  await npmSeed(db, { tenants: 2, clusters: 1, topics: 2, partitions: 1, days: 1, end });
  server = await startServer(db, { STRATA_DEMO_FEED: 'on', STRATA_DEMO_FEED_EVERY: '1s' });
  token = npmToken(['--role', 'customer', '--tenant', 't-1']);
  const { body } = await graphql(server.url, token, '{ resources { id } }');
  cluster = (body.data as { resources: { id: string }[] }).resources[0]?.id ?? '';
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lastMinutes = (c: string): string => `{ timeseries(query: {
  metric: "io.confluent.kafka.server/received_bytes", granularity: PT1M, interval: "now-5m/now+1m",
  filter: { field: "resource_id", op: EQ, value: "${c}" }, groupBy: ["topic"] }) { series { labels { value } points { value } } } }`;

test('npm start feeds itself: the last minutes have data in GraphQL and /export, pushed by the OpenTelemetry SDK', {
  timeout: 60_000,
}, async () => {
  assert.match(server.output(), /Demo feed: \d+ clusters' telemetry every 1 s through POST \/v1\/metrics/);
  let series: { labels: { value: string }[]; points: { value: number }[] }[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const { body } = await graphql(server.url, token, lastMinutes(cluster));
    series = (body.data as { timeseries: { series: typeof series } } | null)?.timeseries.series ?? [];
    if (series.some((s) => s.points.some((p) => p.value > 0))) break;
  }
  assert.deepEqual(series.map((s) => s.labels[0]?.value).sort(), ['clicks', 'inventory', 'orders', 'payments']);
  assert.ok(
    series.every((s) => s.points.every((p) => p.value >= 0)),
    'counters are deltas, never negative',
  );
  // /export answers the last closed minute: give the feed one.
  let samples = 0;
  for (const deadline = Date.now() + 70_000; samples === 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
    const text = await (
      await fetch(`${server.url}/export?resource.kafka.id=${cluster}`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    samples = text.split('\n').filter((l) => l.startsWith('confluent_kafka_server_received_bytes{')).length;
  }
  assert.ok(samples > 0, '/export has samples of the last closed minute');
});
