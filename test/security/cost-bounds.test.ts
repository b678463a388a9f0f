import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { MetricStore, StoreRequest } from '../../store/metric-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import { post, startReplica } from '../helpers/edge-server.ts';

/**
 * An operation's cost is estimated and bounded before the store does any
 * work: the end of its intervals, its store chunks per field and per
 * operation, the raw minutes it scans, its IN values, and the points it
 * returns. Each bound is a stable code with the value, the limit and the fix.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let cluster: string;
const NO_REPLAY = { STRATA_RESPONSE_CACHE_TTL: '0' } as const;

before(async () => {
  store = await seededStore();
  const [row] = await store.read(`SELECT resource_id FROM resources WHERE tenant_id = 't-1' ORDER BY 1 LIMIT 1`, []);
  cluster = String(row?.['resource_id']);
});
after(async () => store.close());

/** The store, counting the pieces it is asked for. */
function counting(): MetricStore & { pieces: number } {
  const wrapped = Object.assign(Object.create(store) as MetricStore, { pieces: 0 });
  return Object.assign(wrapped, {
    queryPieces: (request: StoreRequest) => {
      wrapped.pieces += request.pieces.length;
      return store.queryPieces(request);
    },
  });
}

interface Field {
  readonly metric?: string;
  readonly granularity: string;
  readonly interval: string;
  readonly filter?: string;
  readonly groupBy?: string;
}

const own = (): string => `{ field: "resource_id", op: EQ, value: "${cluster}" }`;
const field = (f: Field, i: number): string =>
  `f${i}: timeseries(query: { metric: "${M}${f.metric ?? 'received_bytes'}", granularity: ${f.granularity}, interval: "${f.interval}", filter: ${f.filter ?? own()}${f.groupBy ? `, groupBy: ${f.groupBy}` : ''} }) { series { points { value } } }`;
const operation = (fields: readonly Field[]): string => JSON.stringify({ query: `{ ${fields.map(field).join('\n')} }` });
const codes = (body: { errors?: { extensions?: Record<string, unknown> }[] }): unknown[] =>
  (body.errors ?? []).map((e) => e.extensions?.['code']);

test('an interval may end at most STRATA_MAX_FUTURE past now: far-future ends are refused before any store work', async () => {
  const counted = counting();
  const r = await startReplica(counted, NO_REPLAY);
  try {
    const token = r.token('customer', 't-1');
    for (const interval of ['now-1d/P99999W', 'now/now+999999w', '2026-11-19T00:00:00Z/9999-12-31T00:00:00Z', 'now+2d/P1D']) {
      const started = performance.now();
      const answer = await post(`${r.base}/graphql`, token, operation([{ granularity: 'ALL', interval }]));
      assert.deepEqual(codes(answer.body), ['RANGE_IN_FUTURE'], interval);
      assert.match(answer.body.errors?.[0]?.message ?? '', /more than 24 h after now/);
      console.log(`# ${interval}: RANGE_IN_FUTURE in ${(performance.now() - started).toFixed(0)} ms`);
    }
    assert.equal(counted.pieces, 0, 'no store work for a refused interval');
    for (const interval of ['now-1h/now+1m', 'now|d/P1D', 'now-1h/now+24h']) {
      const answer = await post(`${r.base}/graphql`, token, operation([{ granularity: 'PT1H', interval }]));
      assert.equal(answer.body.errors, undefined, `${interval}: the current minute, "today" and a day ahead are fine`);
    }
  } finally {
    await r.stop();
  }
});

test('store chunks are bounded per field and per operation (QUERY_TOO_COMPLEX), before any store work', async () => {
  const counted = counting();
  const r = await startReplica(counted, { ...NO_REPLAY, STRATA_MAX_PIECES_PER_FIELD: '20', STRATA_MAX_PIECES_PER_OPERATION: '30' });
  try {
    const token = r.token('customer', 't-1');
    const wide = await post(`${r.base}/graphql`, token, operation([{ granularity: 'PT1H', interval: 'now-30d/now' }]));
    assert.deepEqual(codes(wide.body), ['QUERY_TOO_COMPLEX']);
    assert.match(wide.body.errors?.[0]?.message ?? '', /This field needs 3\d store chunks .* over the limit of 20/);
    assert.equal(counted.pieces, 0);
    const three = await post(
      `${r.base}/graphql`,
      token,
      operation([0, 1, 2].map((i) => ({ granularity: 'PT1H', interval: `now-${12 + i}d/now-${i}d` }))),
    );
    assert.deepEqual(codes(three.body), ['QUERY_TOO_COMPLEX'], 'the third field passes the operation limit');
    assert.match(three.body.errors?.[0]?.message ?? '', /The operation needs \d+ store chunks with this field, over the limit of 30/);
    assert.ok(counted.pieces <= 30, `the store was asked for ${counted.pieces} pieces, within the operation's budget`);
  } finally {
    await r.stop();
  }
});

/** The red team's request: 24 fields of raw scans with big IN filters, as variables (about 43 KB). */
function heavyOperation(fields: number, granularity: string, hours: number): string {
  const variables: Record<string, unknown> = {};
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) {
    const topics = Array.from({ length: 100 }, (_, k) => (k === 0 ? 'orders' : `topic-${i}-${k}`));
    variables[`f${i}`] = {
      and: [
        { field: 'resource_id', op: 'EQ', value: cluster },
        { field: 'topic', op: 'IN', values: topics },
      ],
    };
    parts.push(
      `a${i}: timeseries(query: { metric: "${M}received_bytes", granularity: ${granularity}, interval: "now-${hours}h/now", filter: $f${i}, groupBy: ["topic"] }) { series { points { value } } }`,
    );
  }
  const declarations = Object.keys(variables)
    .map((k) => `$${k}: Filter`)
    .join(', ');
  return JSON.stringify({ query: `query Heavy(${declarations}) { ${parts.join('\n')} }`, variables });
}

test('raw minutes and IN values are bounded across the operation: the 24-field raw scan with big IN filters is refused', async () => {
  const counted = counting();
  const r = await startReplica(counted, { ...NO_REPLAY, STRATA_MAX_BODY_BYTES: '200000' });
  try {
    const token = r.token('customer', 't-1');
    const heavy = heavyOperation(24, 'PT1M', 6);
    console.log(`# heavy operation: ${heavy.length} bytes`);
    const answer = await post(`${r.base}/graphql`, token, heavy);
    const refused = codes(answer.body).filter((c) => c === 'QUERY_TOO_COMPLEX').length;
    assert.equal(refused, 19, 'five fields of 100 IN values fit the operation budget of 500, the other 19 are refused');
    assert.match(answer.body.errors?.[0]?.message ?? '', /filters hold 600 IN values with this field, over the limit of 500/);
    const raw = await post(
      `${r.base}/graphql`,
      token,
      operation(Array.from({ length: 12 }, (_, i) => ({ granularity: 'PT30M', interval: `now-${168 - i}h/now` }))),
    );
    assert.equal(codes(raw.body).length, 2, 'seven days of raw at PT30M are about 10,000 cluster-minutes: ten such fields fit 100,000');
    assert.match(raw.body.errors?.[0]?.message ?? '', /scans \d+ cluster-minutes of raw data with this field, over the limit of 100000/);
  } finally {
    await r.stop();
  }
});

test('points are bounded per operation: the field that passes the limit fails, the earlier ones answer', async () => {
  const r = await startReplica(store, { ...NO_REPLAY, STRATA_MAX_POINTS_PER_OPERATION: '400' });
  try {
    const token = r.token('customer', 't-1');
    const fields = [0, 1, 2].map((i) => ({ granularity: 'PT1H', interval: `now-${48 + i}h/now`, groupBy: '["topic"]' }));
    const answer = await post(`${r.base}/graphql`, token, operation(fields));
    assert.deepEqual(codes(answer.body), ['POINTS_LIMIT_EXCEEDED']);
    assert.match(answer.body.errors?.[0]?.message ?? '', /returns \d+ points with this field, over the limit of 400 per operation/);
    const data = answer.body.data as Record<string, { series: { points: unknown[] }[] } | null>;
    assert.equal(Object.values(data).filter((f) => f !== null).length, 2);
  } finally {
    await r.stop();
  }
});

test('an operation whose raw scans pass STRATA_MAX_RAW_MINUTES_PER_STORE_QUERY runs as several store statements, one after another, with the same answer', async () => {
  // Four metrics, so that no piece is shared between fields: 4 × 6 h = 1,440 raw minutes of one cluster.
  const fields = ['received_bytes', 'sent_bytes', 'received_records', 'sent_records'].map((metric) => ({
    metric,
    granularity: 'PT5M',
    interval: 'now-6h/now',
  }));
  const answerWith = async (env: Record<string, string>): Promise<{ body: unknown; statements: number[] }> => {
    const statements: number[] = [];
    const minutes = Object.assign(Object.create(store) as MetricStore, {
      queryPieces: (request: StoreRequest) => {
        statements.push(request.pieces.reduce((n, p) => n + (p.source === 'raw' ? (p.interval.end - p.interval.start) / 60_000 : 0), 0));
        return store.queryPieces(request);
      },
    });
    const r = await startReplica(minutes, { ...NO_REPLAY, ...env });
    try {
      return { body: (await post(`${r.base}/graphql`, r.token('customer', 't-1'), operation(fields))).body, statements };
    } finally {
      await r.stop();
    }
  };
  const whole = await answerWith({});
  const cut = await answerWith({ STRATA_MAX_RAW_MINUTES_PER_STORE_QUERY: '600' });
  assert.equal(whole.statements.length, 1, `one batch of ${whole.statements[0]} raw minutes is one statement at the default`);
  assert.ok(cut.statements.length >= 3, `${cut.statements.join(' + ')} raw minutes: cut into statements of at most 600`);
  assert.ok(
    cut.statements.every((m) => m <= 600),
    cut.statements.join(', '),
  );
  assert.equal(
    cut.statements.reduce((a, b) => a + b, 0),
    whole.statements[0],
  );
  assert.deepEqual(cut.body, whole.body);
  assert.equal((cut.body as { errors?: unknown[] }).errors, undefined);
});
