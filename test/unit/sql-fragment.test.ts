import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HOUR_MS, METRIC_NAMES, type GroupKey, type LabelColumn } from '../../catalog/catalog.ts';
import type { Piece } from '../../planner/pieces.ts';
import type { Filter } from '../../planner/query.ts';
import * as duckdb from '../../store/duckdb/duckdb-sql.ts';
import * as druid from '../../store/druid/druid-sql.ts';
import type { Branch } from '../../store/piece-batch.ts';
import { empty, ident, isSql, join, raw, sql, type Sql, type SqlValue } from '../../store/sql-fragment.ts';
import { propertyRuns } from '../helpers/runs.ts';

/** The text with each placeholder replaced, in order, by its parameter in brackets. */
function bound(fragment: Sql): string {
  let next = 0;
  const text = fragment.text.replace(/\?/g, () => `⟨${String(fragment.params[next++])}⟩`);
  assert.equal(next, fragment.params.length, 'one placeholder per parameter');
  return text;
}

test('values become placeholders; nested fragments bring their parameters along, in text order', () => {
  const inner = sql`b = ${'x'} AND c IN (${join([sql`${1}`, sql`${2}`])})`;
  const outer = sql`SELECT ${3} WHERE a = ${'y'} AND (${inner}) AND d = ${'z'}${empty}`;
  assert.equal(outer.text, 'SELECT ? WHERE a = ? AND (b = ? AND c IN (?, ?)) AND d = ?');
  assert.deepEqual(outer.params, [3, 'y', 'x', 1, 2, 'z']);
  assert.equal(bound(join([outer, inner], ' UNION ALL ')).split('⟨x⟩').length, 3, 'a fragment used twice binds twice');
  assert.deepEqual(join([]), empty);
});

type Tree = { leaf: SqlValue } | { pair: [Tree, Tree] } | { call: Tree } | { list: Tree[]; sep: string };

const trees = fc.letrec<{ tree: Tree }>((t) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((leaf) => ({ leaf })),
    fc.tuple(t('tree'), t('tree')).map((pair) => ({ pair })),
    t('tree').map((call) => ({ call })),
    fc.record({ list: fc.array(t('tree'), { maxLength: 4 }), sep: fc.constantFrom(', ', ' AND ', '\nUNION ALL\n', '') }),
  ),
})).tree;

const build = (t: Tree): Sql =>
  'leaf' in t
    ? sql`${t.leaf}`
    : 'pair' in t
      ? sql`(${build(t.pair[0])} + ${build(t.pair[1])})`
      : 'call' in t
        ? sql`f(${build(t.call)})`
        : join(t.list.map(build), t.sep);

/** The same tree written out by hand, with each value inline in brackets. */
const expected = (t: Tree): string =>
  'leaf' in t
    ? `⟨${String(t.leaf)}⟩`
    : 'pair' in t
      ? `(${expected(t.pair[0])} + ${expected(t.pair[1])})`
      : 'call' in t
        ? `f(${expected(t.call)})`
        : t.list.map(expected).join(t.sep);

test('property: through any nesting and join, text and parameters stay paired and no value reaches the text', () => {
  fc.assert(
    fc.property(trees, (tree) => {
      const fragment = build(tree);
      assert.equal(bound(fragment), expected(tree));
      assert.match(fragment.text, /^[\s?()f+,ANDUIOL]*$/, 'the text is the templates and separators only');
    }),
    { numRuns: propertyRuns(500), seed: 8 },
  );
});

test('fragments cannot be forged or changed, and odd values are refused', () => {
  const forged = { text: 'DROP TABLE x', params: [] };
  assert.throws(() => sql`${forged as unknown as Sql}`, TypeError, 'a look-alike object is not a fragment');
  assert.equal(isSql(forged), false);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, undefined, null, 1n, true, ['a']]) {
    assert.throws(() => sql`${bad as unknown as SqlValue}`, TypeError, String(bad));
  }
  assert.throws(() => sql(['x = 1'] as unknown as TemplateStringsArray), TypeError, 'a hand-built strings array');
  assert.throws(() => sql`a = ?`, TypeError, 'a bare ? in the text would have no parameter');
  const f = sql`a = ${1}`;
  assert.throws(() => (f.params as SqlValue[]).push(2), TypeError);
  assert.throws(() => Object.assign(f, { text: 'b' }), TypeError);
});

test('ident takes plain names only, and quotes them as the dialect does', () => {
  assert.equal(ident('partition').text, '"partition"');
  assert.equal(ident('__time', (n) => `[${n}]`).text, '[__time]');
  for (const bad of ['', 'a"b', 'a b', '1x', 'x;DROP', 'x?', "x'", 'x--', 'é']) assert.throws(() => ident(bad), TypeError, bad);
  assert.throws(() => ident('x', () => '"x?"'), TypeError, 'a quoting that adds a placeholder');
});

test('raw takes keywords, operators and safe integers only', () => {
  for (const ok of ['GROUP BY', '1, 2, 3', '\nUNION ALL\n', '<>', 'COUNT(*)', '']) assert.equal(raw(ok).text, ok);
  assert.equal(raw(12).text, '12');
  for (const bad of ["'", '"x"', '?', ';', '-- c', '/* c */', 'a\\b']) assert.throws(() => raw(bad), TypeError, bad);
  for (const bad of [1.5, Number.NaN, 2 ** 60]) assert.throws(() => raw(bad), TypeError, String(bad));
  assert.throws(() => join([sql`a`, sql`b`], "'"), TypeError, 'a separator is checked as raw text');
});

const HOSTILE = ["t'; DROP TABLE telemetry_raw; --", 'x" OR "1"="1', 'a?b', 'lkc-"?'] as const;

function branch(source: string, groupBy: GroupKey[], filter: Filter, index: number): Branch {
  const start = 1_700_000_000_000 - (1_700_000_000_000 % HOUR_MS);
  const interval = { start, end: start + 24 * HOUR_MS };
  // Not a literal typed Piece: `rollupBucketMs` is new to Piece, and this way the test reads either form.
  const fields = {
    scope: { kind: 'tenant' as const, tenantId: HOSTILE[0] },
    metric: METRIC_NAMES.receivedBytes,
    source,
    level: source === 'raw' ? undefined : (['topic'] as LabelColumn[]),
    filter,
    groupBy,
    bucketMs: HOUR_MS,
    rollupBucketMs: source === 'raw' ? undefined : HOUR_MS,
    chunkMs: HOUR_MS,
    interval,
    key: `k${index}`,
    shape: `s${index}`,
  };
  const sample: Piece = fields;
  return { id: `b${index}`, sample, interval, pieces: [sample] };
}

test('the piece statements of both dialects bind every request value and write none', () => {
  const filter: Filter = {
    kind: 'and',
    filters: [
      { kind: 'field', field: 'resource_id', op: 'EQ', values: [HOSTILE[3]] },
      { kind: 'field', field: 'topic', op: 'IN', values: [HOSTILE[1], HOSTILE[2]] },
    ],
  };
  // Raw, aggregated rollup and direct rollup branches (the last has its cluster and label fixed).
  const branches = [branch('raw', ['topic'], filter, 0), branch('rollup_1h', [], filter, 1), branch('rollup_1h', ['topic'], filter, 2)];
  const duck = duckdb.piecesSql(branches);
  const dru = druid.piecesSql(branches);
  for (const [name, text, values] of [
    ['duckdb', duck.sql, duck.params],
    ['druid', dru.sql, dru.params.map((p) => p.value)],
  ] as const) {
    assert.equal(text.split('?').length - 1, values.length, `${name}: one placeholder per parameter`);
    for (const v of HOSTILE) {
      assert.ok(!text.includes(v), `${name}: ${v} is not in the text`);
      assert.ok(values.includes(v), `${name}: ${v} is bound`);
    }
  }
  assert.deepEqual(new Set(dru.params.map((p) => `${typeof p.value}:${p.type}`)), new Set(['string:VARCHAR', 'number:BIGINT']));
});
