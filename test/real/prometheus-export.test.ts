import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { MINUTE_MS } from '../../catalog/catalog.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { SMALL, seededStore } from '../helpers/fixture.ts';
import { post, startReplica, type Replica } from '../helpers/edge-server.ts';
import { ROOT } from '../helpers/server-process.ts';

/**
 * A real Prometheus (scripts/prometheus.sh, Debian's package) scrapes GET /export of the
 * real HTTP edge every second with a customer token, and what it stored is compared with
 * the GraphQL answer for the same metric, cluster and minute. The fixture ends at the
 * current minute (STRATA_NOW fixed there) so that the honoured sample timestamps are recent
 * enough for Prometheus' head block.
 */
const exec = promisify(execFile);
const END = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
const MINUTE = END - MINUTE_MS;
// A state folder of its own: never the Prometheus of someone else's run.
const IT_DIR = join(process.env['STRATA_IT_DIR'] ?? join(ROOT, '.it'), 'prometheus-export-test');

let store: DuckDbStore;
let edge: Replica;
let own: string[];
let foreign: string;
let prometheus: string;

async function script(command: 'start' | 'stop', env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('bash', ['scripts/prometheus.sh', command], {
    cwd: ROOT,
    env: { ...process.env, ...env, STRATA_IT_DIR: IT_DIR },
    timeout: 300_000,
  });
  return stdout;
}

before(async () => {
  store = await seededStore({ ...SMALL, tenants: 2, days: 1, end: END });
  edge = await startReplica(store, { STRATA_NOW: new Date(END).toISOString() });
  own = edge.app.services.resources.list('t-1').map((r) => r.resourceId);
  foreign = edge.app.services.resources.list('t-2')[0]!.resourceId;
  const mixed = `${edge.base}/export?resource.kafka.id=${[...own, foreign].join(',')}`;
  const foreignOnly = `${edge.base}/export?resource.kafka.id=${foreign}`;
  await script('start', { STRATA_EXPORT_URL: `${mixed} ${foreignOnly}`, STRATA_EXPORT_TOKEN: edge.token('customer', 't-1') });
  const { stdout } = await exec('bash', ['scripts/prometheus.sh', 'env'], { cwd: ROOT, env: { ...process.env, STRATA_IT_DIR: IT_DIR } });
  prometheus = /PROMETHEUS_URL=(\S+)/.exec(stdout)?.[1] ?? '';
  assert.match(prometheus, /^http:\/\/127\.0\.0\.1:\d+$/);
});

after(async () => {
  await script('stop').catch(() => undefined);
  await edge?.stop();
  await store?.close();
});

interface Target {
  readonly labels: { job: string };
  readonly health: string;
  readonly lastError: string;
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheus}${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  assert.equal(body.status, 'success', `${path}: ${body.error ?? ''}`);
  return body.data;
}

/** Polls until `check` returns a value (Prometheus scrapes on its own schedule). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

/** The samples Prometheus holds for one selector, keyed by their labels other than job and instance. */
async function stored(selector: string): Promise<Map<string, { ts: number; value: number }[]>> {
  const matrix = await api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent(`${selector}[10m]`)}`);
  const out = new Map<string, { ts: number; value: number }[]>();
  for (const s of matrix.result) {
    const { job: _job, instance: _instance, __name__: _name, kafka_id: _id, ...labels } = s.metric;
    out.set(
      JSON.stringify(labels),
      s.values.map(([ts, v]) => ({ ts: Math.round(ts * 1000), value: Number(v) })),
    );
  }
  return out;
}

type GqlSeries = { labels: { key: string; value: string }[]; points: { timestamp: string; value: number }[] };

async function graphqlSeries(
  metric: string,
  labels: readonly string[],
  cluster: string,
): Promise<Map<string, { ts: number; value: number }[]>> {
  const query = `query($q: TimeseriesQuery!) { timeseries(query: $q) { series { labels { key value } points { timestamp value } } } }`;
  const q = {
    metric,
    granularity: 'PT1M',
    interval: `${new Date(MINUTE).toISOString()}/${new Date(END).toISOString()}`,
    filter: { field: 'resource_id', op: 'EQ', value: cluster },
    groupBy: labels,
  };
  const answer = await post(`${edge.base}/graphql`, edge.token('customer', 't-1'), JSON.stringify({ query, variables: { q } }));
  const series = (answer.body.data as { timeseries: { series: GqlSeries[] } }).timeseries.series;
  return new Map(
    series.map((s) => [
      JSON.stringify(Object.fromEntries(s.labels.map((l) => [l.key, l.value]))),
      s.points.map((p) => ({ ts: Date.parse(p.timestamp), value: p.value })),
    ]),
  );
}

test('Prometheus scrapes the export: the target is up, the foreign-only target is refused with 404', async () => {
  const targets = await until('both targets scraped', async () => {
    const data = await api<{ activeTargets: Target[] }>('/api/v1/targets');
    const byJob = new Map(data.activeTargets.map((t) => [t.labels.job, t]));
    const [mixed, foreignOnly] = [byJob.get('strata-export-1'), byJob.get('strata-export-2')];
    return mixed?.health === 'up' && foreignOnly?.health === 'down' ? { mixed, foreignOnly } : undefined;
  });
  assert.equal(targets.mixed.lastError, '');
  assert.match(targets.foreignOnly.lastError, /404/);
  const metadata = await api<Record<string, { type: string }[]>>('/api/v1/metadata?metric=confluent_kafka_server_received_bytes');
  assert.equal(metadata['confluent_kafka_server_received_bytes']?.[0]?.type, 'gauge');
});

test('the values Prometheus stored equal the GraphQL answers for the same metric, cluster and minute', async () => {
  const cases = [
    { metric: 'io.confluent.kafka.server/received_bytes', name: 'confluent_kafka_server_received_bytes', labels: ['topic'] },
    { metric: 'io.confluent.kafka.server/retained_bytes', name: 'confluent_kafka_server_retained_bytes', labels: ['topic', 'partition'] },
    { metric: 'io.confluent.kafka.server/active_connection_count', name: 'confluent_kafka_server_active_connection_count', labels: [] },
    {
      metric: 'io.confluent.kafka.server/consumer_lag_offsets',
      name: 'confluent_kafka_server_consumer_lag_offsets',
      labels: ['consumer_group_id', 'topic'],
    },
  ];
  let compared = 0;
  for (const cluster of own) {
    for (const c of cases) {
      // About 1 % of the seeded series-minutes are missing, so a series may have no sample at
      // this minute: then Prometheus must hold none either (it scraped already, test above).
      const expected = await graphqlSeries(c.metric, c.labels, cluster);
      const actual = await until(`${c.name} of ${cluster} in Prometheus`, async () => {
        const got = await stored(`${c.name}{kafka_id="${cluster}"}`);
        return got.size === expected.size ? got : undefined;
      });
      for (const [labels, points] of expected) {
        // Every scrape within the minute answers the same stamped value: Prometheus keeps one sample.
        assert.deepEqual(actual.get(labels), points, `${c.name}{kafka_id="${cluster}",${labels}}`);
        assert.deepEqual(
          points.map((p) => p.ts),
          [MINUTE],
        );
        compared += 1;
      }
    }
  }
  assert.ok(compared >= 20, `compared ${compared} series`);
});

test('a customer token scraping a foreign cluster stores nothing of it but the access-error gauge', async () => {
  const series = await api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(`{kafka_id="${foreign}"}`)}`);
  assert.deepEqual(
    series.map((s) => [s['__name__'], s['job']]),
    [['strata_export_resource_access_error', 'strata-export-1']],
  );
  const own0 = await api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(`{kafka_id="${own[0]}"}`)}`);
  assert.ok(own0.length > 9, 'own clusters are exported in the same scrape');
  assert.ok(!own0.some((s) => s['__name__'] === 'strata_export_resource_access_error'));
});
