import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, HOUR_MS, findMetric, type Aggregation, type GroupKey } from '../../catalog/catalog.ts';
import { plan } from '../../planner/plan.ts';
import { piecesOf } from '../../planner/pieces.ts';
import { branchesOf, storedRowsAreBuckets } from '../../store/piece-batch.ts';
import type { CanonicalQuery, Filter, GranularityName } from '../../planner/query.ts';

const NOW = Date.parse('2026-11-20T00:00:00Z');
const state = { now: NOW, watermarks: { rollup_1h: NOW - 2 * HOUR_MS, rollup_1d: NOW - DAY_MS } };
const eq = (field: GroupKey, value: string): Filter => ({ kind: 'field', field, op: 'EQ', values: [value] });

function query(over: Partial<CanonicalQuery> & { metricName?: string; g?: GranularityName; agg?: Aggregation }): CanonicalQuery {
  const metric = findMetric(`io.confluent.kafka.server/${over.metricName ?? 'received_bytes'}`);
  assert.ok(metric);
  return {
    scope: { kind: 'tenant', tenantId: 't-1' },
    metric,
    aggregation: over.agg ?? 'SUM',
    granularity: over.g ?? 'PT1H',
    interval: over.interval ?? { start: NOW - 3 * DAY_MS, end: NOW },
    filter: over.filter ?? eq('resource_id', 'lkc-1'),
    groupBy: over.groupBy ?? [],
    orderBy: { by: 'LABELS', direction: 'ASC' },
    limit: 100,
    offset: 0,
  };
}

const sources = (q: CanonicalQuery) =>
  plan(q, state).fragments.map((f) => `${f.source}@${new Date(f.interval.start).toISOString().slice(5, 16)}`);

test('coarsest first: whole days from rollup_1d, the rest of the day from rollup_1h, the fresh tail from raw', () => {
  assert.deepEqual(sources(query({ g: 'P1D' })), ['rollup_1d@11-17T00:00', 'rollup_1h@11-19T00:00', 'raw@11-19T22:00']);
  // PT1H is not a whole number of days: the daily rollup cannot serve it
  assert.deepEqual(sources(query({ g: 'PT1H' })), ['rollup_1h@11-17T00:00', 'raw@11-19T22:00']);
});

test('ragged edges go to finer sources', () => {
  const q = query({ interval: { start: NOW - 2 * DAY_MS - 30 * 60_000, end: NOW - 3 * HOUR_MS - 10 * 60_000 }, g: 'ALL' });
  assert.deepEqual(sources(q), ['raw@11-17T23:30', 'rollup_1d@11-18T00:00', 'rollup_1h@11-19T00:00', 'raw@11-19T20:00']);
});

test('a granularity that is not a multiple of the bucket skips that rollup, with a reason', () => {
  const p = plan(query({ g: 'PT4H' }), state);
  assert.ok(p.decisions.some((d) => d.source === 'rollup_1d' && d.rule === 'granularity-multiple' && !d.passed));
  assert.deepEqual(
    p.fragments.map((f) => f.source),
    ['rollup_1h', 'raw'],
  );
  assert.deepEqual(
    plan(query({ g: 'PT5M', interval: { start: NOW - 6 * HOUR_MS, end: NOW } }), state).fragments.map((f) => f.source),
    ['raw'],
  );
});

test('non-additive aggregations need the exact label level', () => {
  const gauge = { metricName: 'retained_bytes', agg: 'MAX' as const };
  // cluster level: served by rollups
  assert.notDeepEqual(
    plan(query(gauge), state).fragments.map((f) => f.source),
    ['raw'],
  );
  // grouped by partition only: no rollup holds level [partition]
  const p = plan(query({ ...gauge, groupBy: ['partition'] }), state);
  assert.deepEqual(
    p.fragments.map((f) => f.source),
    ['raw'],
  );
  assert.ok(p.decisions.some((d) => d.rule === 'exact-level' && !d.passed));
  // topic fixed by EQ: level [topic] exists
  assert.equal(
    plan(
      query({ ...gauge, filter: { kind: 'and', filters: [eq('resource_id', 'lkc-1'), eq('topic', 'orders')] } }),
      state,
    ).fragments[0]?.level?.join(),
    'topic',
  );
  // topic IN (a, b) without grouping: per-minute sums span rows, so raw
  const inFilter: Filter = {
    kind: 'and',
    filters: [eq('resource_id', 'lkc-1'), { kind: 'field', field: 'topic', op: 'IN', values: ['a', 'b'] }],
  };
  assert.deepEqual(
    plan(query({ ...gauge, filter: inFilter }), state).fragments.map((f) => f.source),
    ['raw'],
  );
  // the same with SUM is additive: re-summed from the topic level
  assert.equal(plan(query({ filter: inFilter }), state).fragments[0]?.level?.join(), 'topic');
  // across clusters (no resource fixed): raw
  assert.deepEqual(
    plan(query({ ...gauge, filter: { kind: 'field', field: 'resource_id', op: 'IN', values: ['a', 'b'] } }), state).fragments.map(
      (f) => f.source,
    ),
    ['raw'],
  );
});

test('forceRaw serves everything from raw; planning is pure: the plan depends on its arguments, not on the clock', (t) => {
  assert.deepEqual(
    plan(query({}), state, { forceRaw: true }).fragments.map((f) => f.source),
    ['raw'],
  );
  const planned = plan(query({}), state);
  t.mock.timers.enable({ apis: ['Date'], now: NOW + 400 * DAY_MS });
  assert.deepEqual(plan(query({}), state), planned, 'a year later by the wall clock, the same arguments give the same plan');
  t.mock.timers.reset();
  assert.throws(
    () => plan(query({}), { ...state, now: state.now + 100 * DAY_MS }),
    /Raw data is kept for 7 days/,
    'while the `now` it is given does change it',
  );
});

test('raw retention: a range no rollup covers, older than 7 days, is rejected', () => {
  const old = query({
    g: 'PT4H',
    agg: 'MAX',
    metricName: 'retained_bytes',
    groupBy: ['partition'],
    interval: { start: NOW - 10 * DAY_MS, end: NOW - 9 * DAY_MS },
  });
  assert.throws(() => plan(old, state), /RANGE_BEYOND_RETENTION|kept for 7 days/);
});

test('a rollup read skips re-aggregation only where each group and bucket has one stored row', () => {
  const direct = (q: CanonicalQuery): string[] =>
    branchesOf(piecesOf(plan(q, state))).map((b) => `${b.sample.source}:${storedRowsAreBuckets(b) ? 'rows' : 'group'}`);
  // One cluster, hourly, by topic: the topic level's rows are the answer's rows.
  assert.deepEqual(direct(query({ groupBy: ['topic'], interval: { start: NOW - DAY_MS - 6 * HOUR_MS, end: NOW - 6 * HOUR_MS } })), [
    'rollup_1h:rows',
  ]);
  // Both clusters of the tenant summed per hour (no cluster named): several stored rows per bucket.
  assert.deepEqual(
    direct(
      query({ filter: eq('topic', 'orders'), groupBy: ['topic'], interval: { start: NOW - DAY_MS - 6 * HOUR_MS, end: NOW - 6 * HOUR_MS } }),
    ),
    ['rollup_1h:group'],
  );
  // Daily buckets from the daily rollup's rows.
  assert.deepEqual(direct(query({ g: 'P1D', groupBy: ['topic'], interval: { start: NOW - 3 * DAY_MS, end: NOW - DAY_MS } })), [
    'rollup_1d:rows',
  ]);
  // Two topics summed (IN, not grouped): two stored rows per bucket.
  const twoTopics: Filter = {
    kind: 'and',
    filters: [eq('resource_id', 'lkc-1'), { kind: 'field', field: 'topic', op: 'IN', values: ['orders', 'payments'] }],
  };
  assert.deepEqual(direct(query({ filter: twoTopics, interval: { start: NOW - DAY_MS - 6 * HOUR_MS, end: NOW - 6 * HOUR_MS } })), [
    'rollup_1h:group',
  ]);
  assert.ok(direct(query({ g: 'PT1M', interval: { start: NOW - HOUR_MS, end: NOW } })).every((s) => s === 'raw:group'));
});
