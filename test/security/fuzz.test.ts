import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode } from '../../errors/strata-error.ts';
import { METRICS } from '../../catalog/catalog.ts';
import { GRANULARITY_NAMES } from '../../planner/granularity.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { END, seededStore } from '../helpers/fixture.ts';
import { startEdge, type Edge, type EdgeResponse } from '../helpers/security-edge.ts';
import { timeseriesDocument, type InputValue } from '../helpers/security-graphql.ts';
import { propertyRuns } from '../helpers/runs.ts';

/**
 * Property-based fuzzing of every timeseries argument through the real HTTP
 * edge, as GraphQL variables and as inlined literals. Whatever comes in: no
 * 5xx, no crash, every error carries a public code (ErrorCode, or the
 * parse/validation codes GraphQL itself gives a malformed document), and no
 * message shows SQL, a stack or a file path. STRATA_SECURITY_SEED replays
 * another sequence.
 */
const SEED = Number(process.env['STRATA_SECURITY_SEED'] ?? 20261120);
const RUNS = propertyRuns(1200);
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
]);
/** What only an internal error would show: engine errors, stack frames, paths, SQL clauses. */
const LEAKS = [
  /\bat \S+ \(|\bat file:|node:internal/,
  /\/(work|home|usr|tmp|root)\/|node_modules|\.ts:\d+/,
  /Binder Error|Parser Error|Conversion Error|Catalog Error|duckdb|TypeError|RangeError|ReferenceError/i,
  /\b(SELECT|GROUP BY|epoch_ms|telemetry_raw|rollup_1h WHERE)\b/,
];

let store: DuckDbStore;
let edge: Edge;
let cluster = '';
const tally = { requests: 0, ok: 0, codes: new Map<string, number>() };

before(async () => {
  store = await seededStore({ seed: 3, tenants: 2, clusters: 2, topics: 2, partitions: 2, days: 2, end: END });
  edge = await startEdge(store);
  cluster = edge.app.services.resources.list('t-1')[0]?.resourceId ?? '';
});

after(async () => {
  await edge?.close();
  await store?.close();
});

/** Label values and other strings that have broken parsers before. */
const weird = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    "'",
    '"',
    '\\',
    "' OR 1=1 --",
    '"; DROP TABLE telemetry_raw; --',
    '%',
    '_',
    '*',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '🙂',
    'é',
    '租户',
    '\n',
    '${x}',
    '{{x}}',
    '<script>',
    'orders',
    'NULL',
    'null',
    'lkc-nope0',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 250, maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => s.repeat(40)),
);

const instant = fc.oneof(
  fc.constantFrom(
    'now',
    'now|d',
    'now|h',
    'now|m',
    'now-1d|d',
    'now+1h',
    'now-0m',
    'now-999999w',
    'now+999999d',
    'now-1y',
    'now--1h',
    'now-1.5h',
    'now|w',
    'NOW',
    'now - 1h',
  ),
  fc
    .tuple(
      fc.constantFrom('-', '+'),
      fc.integer({ min: 0, max: 9_999_999 }),
      fc.constantFrom('m', 'h', 'd', 'w', 's', ''),
      fc.constantFrom('', '|d', '|h', '|m', '|x'),
    )
    .map(([s, n, u, t]) => `now${s}${n}${u}${t}`),
  fc.constantFrom(
    '2026-11-19T00:00:00Z',
    '2026-11-19',
    '2026-11-19T10:00',
    '2026-11-19T10:00:00.123+02:00',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '275760-09-13T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-11-19T25:61:61Z',
    '1970-01-01T00:00:00Z',
    '2026-11-19T00:00:00+99:99',
  ),
  fc
    .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom('PT6H', 'P1D', 'P7D', 'PT0H', 'P99999W', 'P99999D', 'PT9999999M', 'P', 'PT', 'P1DT', 'p1d', 'P-1D', 'P1.5D', 'P1Y'),
  weird,
);
const interval = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(instant, instant).map(([a, b]) => `${a}/${b}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'now-6h/now',
      'now-1d|d/now|d',
      '2026-11-19T00:00:00Z/2026-11-18T00:00:00Z',
      'now/now',
      '/',
      '//',
      'now-1h/now/now',
      ' now-1h / now ',
      '',
    ),
  },
  { weight: 1, arbitrary: weird },
);

const op = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('EQ', 'NEQ', 'IN', 'GT', 'GTE', 'LT', 'LTE') },
  { weight: 1, arbitrary: fc.constantFrom('LIKE', 'eq', '', 'EQ OR 1') },
);
/** Mostly valid, now and then garbage: deep enough to reach the planner and the store. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, garbage: fc.Arbitrary<U>, odds = 12): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: odds, arbitrary: valid }, { weight: 1, arbitrary: garbage });
/** Present or absent (undefined, dropped before sending), absent `absent` times in `absent + 1`... roughly. */
const maybe = <T>(a: fc.Arbitrary<T>, absent = 1): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

/** Drops the fields left undefined (absent, as a client would send them). */
const defined = (q: Record<string, unknown>): Record<string, InputValue> => JSON.parse(JSON.stringify(q)) as Record<string, InputValue>;

function filterOf(labels: readonly string[]): fc.Arbitrary<InputValue> {
  const label = mostly(fc.constantFrom(...labels), weird, 8);
  return fc.letrec<{ filter: InputValue }>((tie) => ({
    filter: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 5, arbitrary: fc.record({ field: label, op, value: weird }) },
      { weight: 2, arbitrary: fc.record({ field: label, op: fc.constant('IN'), values: fc.array(weird, { maxLength: 110 }) }) },
      {
        weight: 1,
        arbitrary: fc
          .record({ field: maybe(label), op: maybe(op), value: maybe(weird), values: maybe(fc.array(weird, { maxLength: 3 })) })
          .map((r) => defined(r)),
      },
      { weight: 2, arbitrary: fc.record({ and: fc.array(tie('filter'), { maxLength: 4 }) }) },
      { weight: 2, arbitrary: fc.record({ or: fc.array(tie('filter'), { maxLength: 4 }) }) },
      { weight: 2, arbitrary: fc.record({ not: tie('filter') }) },
      { weight: 1, arbitrary: fc.record({ field: label, op, not: tie('filter') }) },
    ),
  })).filter;
}

const validInterval = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 72 }), fc.constantFrom('m', 'h'), fc.constantFrom('', '|h', '|d'))
    .map(([n, u, t]) => `now-${n}${u}${t}/now${t}`),
  fc.constantFrom(
    'now-1d|d/now|d',
    'now-2d/now',
    'PT6H/now',
    'now-3h/PT1H',
    '2026-11-19T00:00:00Z/2026-11-19T06:00:00Z',
    '2026-11-18T12:00:00Z/P1D',
  ),
);

const queryArb = fc.constantFrom(...METRICS).chain((m) => {
  const labels = ['resource_id', ...m.labels];
  return fc.record({
    metric: mostly(fc.constant(m.name), weird, 20),
    aggregation: maybe(mostly(fc.constantFrom('SUM', 'MIN', 'MAX', 'AVG', 'COUNT'), fc.constantFrom('MEDIAN', 'sum'), 20)),
    granularity: mostly(fc.constantFrom(...GRANULARITY_NAMES), fc.constantFrom('PT2M', 'P1W', ''), 20),
    interval: fc.oneof({ weight: 3, arbitrary: validInterval }, { weight: 2, arbitrary: interval }),
    filter: maybe(filterOf(labels)),
    groupBy: maybe(fc.array(mostly(fc.constantFrom(...labels), weird, 10), { maxLength: 7 })),
    orderBy: maybe(fc.record({ by: maybe(fc.constantFrom('LABELS', 'VALUE')), direction: maybe(fc.constantFrom('ASC', 'DESC')) })),
    limit: maybe(mostly(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 1001, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5), 6), 2),
    after: maybe(
      fc.oneof(
        weird,
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
        fc
          .record({ o: fc.oneof(fc.integer(), fc.double()), h: fc.string() })
          .map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
      ),
      5,
    ),
    source: maybe(mostly(fc.constant('AUTO'), fc.constant('RAW'), 6)),
  });
});

/** Most customer queries name their own cluster at the top, so that fuzzing reaches past authorization. */
const caseArb = fc.record({
  query: queryArb,
  role: fc.constantFrom('customer', 'customer', 'internal'),
  scoped: fc.nat(9).map((n) => n < 8),
  inline: fc.boolean(),
});

function withCluster(query: Record<string, InputValue>, scoped: boolean): Record<string, InputValue> {
  if (!scoped) return query;
  const own: InputValue = { field: 'resource_id', op: 'EQ', value: cluster };
  return { ...query, filter: query['filter'] === undefined ? own : { and: [own, query['filter'] ?? null] } };
}

/** Every string the request carried: messages may quote them back, which is no leak. */
function stringsOf(value: InputValue): string[] {
  // Interval messages quote the whole text and each of its two halves.
  if (typeof value === 'string') return [value, ...value.split('/').map((part) => part.trim())].filter((t) => t.length > 2);
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  return value !== null && typeof value === 'object' ? Object.values(value).flatMap(stringsOf) : [];
}

function problems(response: EdgeResponse, sent: InputValue): string[] {
  const echoes = stringsOf(sent).sort((a, b) => b.length - a.length);
  const out: string[] = [];
  if (response.status >= 500) out.push(`HTTP ${response.status}`);
  if (!response.body.data && !response.body.errors) out.push('neither data nor errors');
  for (const e of response.body.errors ?? []) {
    const code = e.extensions?.['code'];
    if (typeof code !== 'string' || !PUBLIC_CODES.has(code)) out.push(`code ${String(code)}: ${e.message}`);
    const own = echoes.reduce((m, sentText) => m.replaceAll(sentText, '…'), e.message);
    for (const leak of LEAKS) if (leak.test(own)) out.push(`message matches ${leak}: ${e.message}`);
    if ('stacktrace' in (e.extensions ?? {}) || 'exception' in (e.extensions ?? {})) out.push('extensions carry a stack');
  }
  return out;
}

test(`${RUNS} fuzzed timeseries queries (variables and inline literals): no 5xx, public codes only, no leaks (seed ${SEED})`, async () => {
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const query = withCluster(defined(c.query), c.scoped);
      const doc = timeseriesDocument(
        [{ alias: 'x', query }],
        c.inline ? 'inline' : 'variables',
        'series { labels { key value } points { timestamp value } } pageInfo { endCursor totalSeries }',
      );
      tally.requests += 1;
      const response = await edge.post(
        edge.token(c.role === 'customer' ? 'customer' : 'internal', c.role === 'customer' ? 't-1' : undefined),
        doc.query,
        doc.variables,
      );
      if (response.body.data?.['x']) tally.ok += 1;
      for (const e of response.body.errors ?? [])
        tally.codes.set(String(e.extensions?.['code']), (tally.codes.get(String(e.extensions?.['code'])) ?? 0) + 1);
      const found = problems(response, query);
      if (found.length > 0)
        console.error(`seed ${SEED}: ${found.join('; ')}\n${doc.query.slice(0, 2000)} ${JSON.stringify(doc.variables).slice(0, 2000)}`);
      assert.deepEqual(
        found,
        [],
        `seed ${SEED}: ${doc.query.slice(0, 3000)} ${JSON.stringify(doc.variables).slice(0, 3000)}\n→ ${response.status} ${response.text.slice(0, 1000)}`,
      );
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  console.log(`fuzz: ${tally.requests} requests, ${tally.ok} answered, codes ${JSON.stringify(Object.fromEntries(tally.codes))}`);
  assert.ok(tally.ok >= RUNS / 24, 'too few fuzzed queries were answered: the generator no longer reaches the store');
});

test('an ISO date that is not on the calendar (Feb 30, April 31, month 13) is INVALID_INTERVAL, never rolled over', async () => {
  const own: InputValue = { field: 'resource_id', op: 'EQ', value: cluster };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2016, max: 2028 }),
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 31 }),
      fc.boolean(),
      async (y, m, d, inline) => {
        const date = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        const onCalendar = m <= 12 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
        const query = { metric: METRICS[0]?.name ?? '', granularity: 'P1D', interval: `${date}T00:00:00Z/P1D`, filter: own };
        const doc = timeseriesDocument([{ alias: 'x', query }], inline ? 'inline' : 'variables', 'series { labels { key value } }');
        const response = await edge.post(edge.token('customer', 't-1'), doc.query, doc.variables);
        assert.deepEqual(problems(response, query), []);
        const code = response.body.errors?.[0]?.extensions?.['code'];
        assert.equal(code === 'INVALID_INTERVAL', !onCalendar, `${date}: ${response.text.slice(0, 300)}`);
      },
    ),
    { seed: SEED, numRuns: propertyRuns(200), endOnFailure: true },
  );
});

const USAGE =
  'query U($p: String!, $t: String, $n: Int, $a: String) { usage(period: $p, tenantId: $t, first: $n, after: $a) { rows { tenantId day ingressBytes } pageInfo { endCursor } } }';

test('fuzzed usage paging (period, tenantId, first, after): no 5xx, public codes only, no leaks', async () => {
  const usageArb = fc.record({
    p: fc.oneof(validInterval, interval),
    t: fc.oneof(fc.constant(null), fc.constant('t-1'), weird),
    n: fc.oneof(fc.integer({ min: -3, max: 1003 }), fc.constant(null)),
    a: fc.oneof(
      fc.constant(null),
      weird,
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    ),
    role: fc.constantFrom('billing' as const, 'internal' as const, 'customer' as const),
  });
  await fc.assert(
    fc.asyncProperty(usageArb, async ({ role, ...vars }) => {
      const response = await edge.post(edge.token(role, role === 'customer' ? 't-1' : undefined), USAGE, vars);
      const found = problems(response, vars as InputValue);
      if (found.length > 0) console.error(`seed ${SEED}: ${found.join('; ')} ${JSON.stringify(vars)}`);
      assert.deepEqual(found, []);
    }),
    { seed: SEED, numRuns: propertyRuns(300), endOnFailure: true },
  );
});
