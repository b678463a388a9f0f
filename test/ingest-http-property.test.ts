import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { OTLP } from '../api/otlp/otlp-schema.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../catalog/catalog.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { post, type Replica, startReplica } from './helpers/edge-server.ts';
import { seededStore } from './helpers/fixture.ts';
import {
  MIDNIGHT,
  type MinuteRow,
  NOW,
  oracleRows,
  oracleSeries,
  oracleUsage,
  otlpBody,
  type SeriesAnswer,
  type SeriesQuery,
  STYLE,
  type Style,
  type StreamPoint,
  streamArb,
  styleArb,
} from './helpers/otlp-stream.ts';
import { propertyRuns } from './helpers/runs.ts';

/**
 * The intake path end to end: random streams of cumulative, delta and gauge
 * points (resets, late minutes of built rollup buckets, deliberately refused
 * points) go through POST /v1/metrics as requests split, duplicated, retried,
 * reordered, sent concurrently, in JSON or protobuf, gzipped or not; then
 * every `timeseries` answer (raw per minute, hourly and daily from the
 * rebuilt rollups) and `usage` answer equals the stream's own oracle
 * (test/helpers/otlp-stream.ts), computed without the derivation code.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let replica: Replica;
let run = 0;

before(async () => {
  // Seeded (rollups built to 2 h before MIDNIGHT): another tenant's data shares every bucket. Not an empty store: its
  // in-memory watermarks start at 0 and never advance to rollups built from later data. Small: each run rebuilds its days.
  store = await seededStore({ seed: 9, tenants: 1, clusters: 1, topics: 1, partitions: 1, days: 3, end: MIDNIGHT });
  // No cache may serve fresh-tail answers for a while (15 s and 5 s by default, by design): each run reads right after writing.
  replica = await startReplica(store, {
    STRATA_NOW: new Date(NOW).toISOString(),
    STRATA_CACHE_FRESH_TTL: '0',
    STRATA_RESPONSE_CACHE_TTL: '0',
    STRATA_RATE_LIMIT: '0',
    STRATA_TOKEN_RATE_LIMIT: '0',
  });
  // Builds the rollups on to MIDNIGHT + 1 h: later runs' minutes before that are late data.
  await register('tp-warm', ['lkc-warm']);
  const timeNs = BigInt(MIDNIGHT + 80 * MINUTE_MS) * 1_000_000n;
  await send([{ ...WARM, timeNs, startNs: timeNs - 1_000_000_000n }], STYLE, ['lkc-warm'], 'tp-warm');
  await replica.app.aggregator.runOnce();
  const marks = replica.app.services.watermarks.snapshot();
  assert.deepEqual([marks['rollup_1h'], marks['rollup_1d']], [MIDNIGHT + HOUR_MS, MIDNIGHT]);
});
after(async () => {
  await replica.stop();
  await store.close();
});

const WARM: StreamPoint = {
  cluster: 0,
  metric: `${M}received_bytes`,
  labels: { topic: 'warm' },
  kind: 'delta',
  startNs: 0n,
  timeNs: 0n,
  value: 1,
  truth: 1,
  refused: false,
};

async function register(tenant: string, clusters: readonly string[]): Promise<void> {
  for (const id of clusters) await store.exec('INSERT INTO resources VALUES (?, ?)', [tenant, id]);
  await replica.app.services.resources.refresh();
}

/** How the stream is delivered: which requests carry each point (one or two, maybe the same twice), which are sent again, in what order, how many at once. */
const deliveryArb = fc.record({
  requests: fc.integer({ min: 1, max: 6 }),
  copies: fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 16 }),
  styles: fc.array(styleArb, { minLength: 1, maxLength: 6 }),
  retries: fc.array(fc.record({ request: fc.nat(), style: styleArb }), { maxLength: 4 }),
  /** Sort keys: of the points (so a request holds them in any order), and of the sends. */
  shuffle: fc.array(fc.nat(99), { minLength: 1, maxLength: 16 }),
  order: fc.array(fc.nat(99), { minLength: 10, maxLength: 10 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  /** During which wave the aggregator runs, the answers read after it (filling the caches that later late data must invalidate). */
  midway: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
});
type Delivery = typeof deliveryArb extends fc.Arbitrary<infer T> ? T : never;

interface Send {
  readonly points: readonly StreamPoint[];
  readonly style: Style;
}

/** The sends of a delivery plan, in the order they go out, as waves of concurrent sends. */
function wavesOf(points: readonly StreamPoint[], d: Delivery): Send[][] {
  const requests: StreamPoint[][] = Array.from({ length: d.requests }, () => []);
  const shuffled = points.map((p, i) => ({ p, key: (d.shuffle[i % d.shuffle.length] ?? 0) * 1000 + i })).sort((a, b) => a.key - b.key);
  shuffled.forEach(({ p }, i) => {
    for (const r of d.copies[i % d.copies.length] ?? []) requests[r % d.requests]?.push(p);
  });
  const sends = [
    ...requests.map((r, i) => ({ points: r, style: d.styles[i % d.styles.length] ?? STYLE })),
    ...d.retries.map((retry) => ({ points: requests[retry.request % d.requests] ?? [], style: retry.style })),
  ];
  const ordered = sends.map((s, i) => ({ s, key: (d.order[i] ?? 0) * 100 + i })).sort((a, b) => a.key - b.key);
  const waves: Send[][] = [];
  for (let i = 0; i < ordered.length; i += d.concurrency) waves.push(ordered.slice(i, i + d.concurrency).map((o) => o.s));
  return waves;
}

/** Posts one request; the answer must be 200, with partial_success exactly for the points refused on purpose. */
async function send(points: readonly StreamPoint[], style: Style, ids: readonly string[], tenant: string): Promise<void> {
  const body = otlpBody(points, style, ids);
  const plain = style.encoding === 'json' ? Buffer.from(JSON.stringify(body)) : OTLP.request.encode(OTLP.request.fromObject(body)).finish();
  const headers: Record<string, string> = {
    'content-type': style.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    authorization: `Bearer ${replica.token(style.token, style.token === 'customer' ? tenant : undefined)}`,
    ...(style.gzip ? { 'content-encoding': 'gzip' } : {}),
  };
  const response = await fetch(`${replica.base}/v1/metrics`, {
    method: 'POST',
    headers,
    body: new Uint8Array(style.gzip ? gzipSync(plain) : plain),
  });
  const raw = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, raw.toString('utf8'));
  const answer =
    style.encoding === 'json'
      ? (JSON.parse(raw.toString('utf8')) as { partialSuccess?: { rejectedDataPoints?: string } })
      : (OTLP.response.toObject(OTLP.response.decode(raw), { longs: String }) as { partialSuccess?: { rejectedDataPoints?: string } });
  const refused = points.filter((p) => p.refused).length;
  assert.equal(Number(answer.partialSuccess?.rejectedDataPoints ?? 0), refused, JSON.stringify(answer));
}

interface Field extends SeriesQuery {
  readonly granularity: 'PT1M' | 'PT1H' | 'P1D';
}

const BUCKET = { PT1M: MINUTE_MS, PT1H: HOUR_MS, P1D: DAY_MS } as const;
/** PT1M reads at most 6 h: one window holds the slots about the midnight a day back, one the rest. */
const WINDOWS = {
  PT1M: [MIDNIGHT - 25 * HOUR_MS, MIDNIGHT - 19 * HOUR_MS],
  'PT1M+': [MIDNIGHT - 4 * HOUR_MS, MIDNIGHT + 2 * HOUR_MS],
  PT1H: [MIDNIGHT - 25 * HOUR_MS, MIDNIGHT + 2 * HOUR_MS],
  P1D: [MIDNIGHT - 2 * DAY_MS, MIDNIGHT + DAY_MS],
} as const;
const field = (window: keyof typeof WINDOWS, metric: string, aggregation: Field['aggregation'], groupBy: string[]): Field => {
  const granularity = window === 'PT1M+' ? 'PT1M' : window;
  const [start, end] = WINDOWS[window];
  return { granularity, metric: `${M}${metric}`, aggregation, groupBy, bucketMs: BUCKET[granularity], start, end };
};

const perMinute = (window: 'PT1M' | 'PT1M+'): Field[] => [
  field(window, 'received_bytes', 'SUM', ['resource_id', 'topic']),
  field(window, 'sent_bytes', 'SUM', ['resource_id', 'topic']),
  field(window, 'retained_bytes', 'AVG', ['resource_id', 'topic', 'partition']),
  field(window, 'partition_count', 'MAX', ['resource_id']),
];

/** Raw per minute; hourly and daily, served by the rebuilt rollups up to their watermarks and raw past them. */
const FIELDS: readonly Field[] = [
  ...perMinute('PT1M'),
  ...perMinute('PT1M+'),
  field('PT1H', 'received_bytes', 'SUM', ['resource_id', 'topic']),
  field('PT1H', 'sent_bytes', 'SUM', ['resource_id']),
  field('PT1H', 'retained_bytes', 'MAX', ['resource_id']),
  field('PT1H', 'retained_bytes', 'AVG', ['resource_id', 'topic', 'partition']),
  field('PT1H', 'partition_count', 'MIN', ['resource_id']),
  field('P1D', 'received_bytes', 'SUM', ['resource_id']),
  field('P1D', 'sent_bytes', 'SUM', ['resource_id', 'topic']),
  field('P1D', 'retained_bytes', 'MAX', ['resource_id', 'topic']),
];

const TIMESERIES = `query Q(${FIELDS.map((_, i) => `$q${i}: TimeseriesQuery!`).join(', ')}) {
  ${FIELDS.map((_, i) => `f${i}: timeseries(query: $q${i}) { series { labels { key value } points { timestamp value } } pageInfo { hasNextPage } plan { fragments { source } } }`).join('\n  ')}
}`;

interface Plan {
  readonly fragments: { source: string }[];
}

interface GqlSeries {
  readonly labels: { key: string; value: string }[];
  readonly points: { timestamp: string; value: number }[];
}

/** Every field's answer, as the customer reads it over HTTP. */
async function timeseries(tenant: string, ids: readonly string[]): Promise<SeriesAnswer[]> {
  const variables = Object.fromEntries(
    FIELDS.map((f, i) => [
      `q${i}`,
      {
        metric: f.metric,
        aggregation: f.aggregation,
        granularity: f.granularity,
        interval: `${new Date(f.start).toISOString()}/${new Date(f.end).toISOString()}`,
        filter: { field: 'resource_id', op: 'IN', values: ids },
        groupBy: f.groupBy,
      },
    ]),
  );
  const answer = await post(`${replica.base}/graphql`, replica.token('customer', tenant), JSON.stringify({ query: TIMESERIES, variables }));
  assert.equal(answer.status, 200, JSON.stringify(answer.body.errors));
  assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
  const data = answer.body.data as Record<string, { series: GqlSeries[]; pageInfo: { hasNextPage: boolean }; plan: Plan }>;
  return FIELDS.map((f, i) => {
    const result = data[`f${i}`];
    assert.equal(result?.pageInfo.hasNextPage, false);
    // Hourly and daily answers must come from the rebuilt rollups (else the late data path goes untested).
    const sources = result?.plan.fragments.map((fragment) => fragment.source) ?? [];
    if (f.granularity !== 'PT1M') assert.ok(sources.includes(f.granularity === 'PT1H' ? 'rollup_1h' : 'rollup_1d'), sources.join());
    const series: SeriesAnswer = {};
    for (const s of result?.series ?? []) {
      const labels = s.labels.map((l): [string, string] => [l.key, l.value]).sort((a, b) => a[0].localeCompare(b[0]));
      series[JSON.stringify(labels)] = s.points.map((p) => [Date.parse(p.timestamp), p.value]);
    }
    return series;
  });
}

const USAGE = `query U($t: String) { usage(period: "${new Date(MIDNIGHT - 3 * DAY_MS).toISOString()}/${new Date(MIDNIGHT + DAY_MS).toISOString()}", tenantId: $t, first: 100) {
  rows { tenantId resourceId day ingressBytes egressBytes storageByteHours partitionHours status } pageInfo { hasNextPage } } }`;

async function usage(tenant: string): Promise<unknown[]> {
  const answer = await post(
    `${replica.base}/graphql`,
    replica.token('billing'),
    JSON.stringify({ query: USAGE, variables: { t: tenant } }),
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.body.errors));
  const page = (answer.body.data as { usage: { rows: Record<string, unknown>[]; pageInfo: { hasNextPage: boolean } } }).usage;
  assert.equal(page.pageInfo.hasNextPage, false);
  return page.rows.map(({ tenantId, ...row }) => {
    assert.equal(tenantId, tenant);
    return row;
  });
}

async function deliver(points: readonly StreamPoint[], d: Delivery, ids: readonly string[], tenant: string): Promise<void> {
  const waves = wavesOf(points, d);
  const midway = d.midway === null ? -1 : d.midway % waves.length;
  for (const [i, wave] of waves.entries()) {
    const sends = wave.map((s) => send(s.points, s.style, ids, tenant));
    // The aggregator takes late minutes and rebuilds while these writes commit, as its schedule would.
    await Promise.all(i === midway ? [...sends, replica.app.aggregator.runOnce()] : sends);
    if (i === midway) await Promise.all([timeseries(tenant, ids), usage(tenant)]);
  }
}

test('every timeseries and usage answer equals the oracle of the stream, however it was delivered', async () => {
  await fc.assert(
    fc.asyncProperty(streamArb, deliveryArb, async (points, delivery) => {
      run += 1;
      const tenant = `tp-${run}`;
      const ids = [`lkc-p${run}a`, `lkc-p${run}b`];
      await register(tenant, ids);
      await deliver(points, delivery, ids, tenant);
      await replica.app.aggregator.runOnce();
      const rows: MinuteRow[] = oracleRows(points);
      const answers = await timeseries(tenant, ids);
      FIELDS.forEach((f, i) => {
        assert.deepEqual(answers[i], oracleSeries(rows, f, ids), `${f.granularity} ${f.aggregation} ${f.metric} by ${f.groupBy.join(',')}`);
      });
      assert.deepEqual(await usage(tenant), oracleUsage(rows, ids));
    }),
    { numRuns: propertyRuns(100), seed: 2209, includeErrorInReport: true },
  );
});
