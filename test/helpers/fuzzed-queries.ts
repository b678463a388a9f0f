/**
 * The fuzzed inputs of test/security/fuzz.test.ts: strings that have broken
 * parsers before, instants and intervals valid and not, filters nested to any
 * depth, and whole timeseries queries, mostly valid so that they reach the
 * planner and the store.
 */
import fc from 'fast-check';
import { METRICS } from '../../catalog/catalog.ts';
import { GRANULARITY_NAMES } from '../../planner/granularity.ts';
import type { InputValue } from './security-graphql.ts';

/** Label values and other strings that have broken parsers before. */
export const weird = fc.oneof(
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
export const interval = fc.oneof(
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
export const defined = (q: Record<string, unknown>): Record<string, InputValue> =>
  JSON.parse(JSON.stringify(q)) as Record<string, InputValue>;

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

export const validInterval = fc.oneof(
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

export const queryArb = fc.constantFrom(...METRICS).chain((m) => {
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
