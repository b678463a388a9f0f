import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode } from '../../errors/strata-error.ts';
import { METRICS } from '../../catalog/catalog.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { FUZZ_DATASET, seededStore } from '../helpers/fixture.ts';
import { ingestedCopy } from '../helpers/ingested-copy.ts';
import { defined, interval, queryArb, validInterval, weird } from '../helpers/fuzzed-queries.ts';
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
const INGESTED_RUNS = propertyRuns(300);
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

before(async () => {
  store = await seededStore(FUZZ_DATASET);
  edge = await startEdge(store);
  cluster = edge.app.services.resources.list('t-1')[0]?.resourceId ?? '';
});

after(async () => {
  await edge?.close();
  await store?.close();
});

/** Most customer queries name their own cluster at the top, so that fuzzing reaches past authorization. */
const caseArb = fc.record({
  query: queryArb,
  role: fc.constantFrom('customer', 'customer', 'internal'),
  scoped: fc.nat(9).map((n) => n < 8),
  inline: fc.boolean(),
});

function withCluster(query: Record<string, InputValue>, scoped: boolean, cluster: string): Record<string, InputValue> {
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

interface Tally {
  requests: number;
  ok: number;
  codes: Map<string, number>;
}

/** `runs` fuzzed timeseries queries through `on` as customers of t-1 (most naming `own`, their cluster) and internal callers. */
async function fuzzTimeseries(on: Edge, own: string, runs: number): Promise<Tally> {
  const seen: Tally = { requests: 0, ok: 0, codes: new Map() };
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const query = withCluster(defined(c.query), c.scoped, own);
      const doc = timeseriesDocument(
        [{ alias: 'x', query }],
        c.inline ? 'inline' : 'variables',
        'series { labels { key value } points { timestamp value } } pageInfo { endCursor totalSeries }',
      );
      seen.requests += 1;
      const response = await on.post(
        on.token(c.role === 'customer' ? 'customer' : 'internal', c.role === 'customer' ? 't-1' : undefined),
        doc.query,
        doc.variables,
      );
      if (response.body.data?.['x']) seen.ok += 1;
      for (const e of response.body.errors ?? [])
        seen.codes.set(String(e.extensions?.['code']), (seen.codes.get(String(e.extensions?.['code'])) ?? 0) + 1);
      const found = problems(response, query);
      if (found.length > 0)
        console.error(`seed ${SEED}: ${found.join('; ')}\n${doc.query.slice(0, 2000)} ${JSON.stringify(doc.variables).slice(0, 2000)}`);
      assert.deepEqual(
        found,
        [],
        `seed ${SEED}: ${doc.query.slice(0, 3000)} ${JSON.stringify(doc.variables).slice(0, 3000)}\n→ ${response.status} ${response.text.slice(0, 1000)}`,
      );
    }),
    { seed: SEED, numRuns: runs, endOnFailure: true },
  );
  assert.ok(seen.ok >= runs / 24, 'too few fuzzed queries were answered: the generator no longer reaches the store');
  return seen;
}

test(`${RUNS} fuzzed timeseries queries (variables and inline literals): no 5xx, public codes only, no leaks (seed ${SEED})`, async () => {
  const seen = await fuzzTimeseries(edge, cluster, RUNS);
  console.log(`fuzz: ${seen.requests} requests, ${seen.ok} answered, codes ${JSON.stringify(Object.fromEntries(seen.codes))}`);
});

/** The same over data that came in through POST /v1/metrics (test/helpers/ingested-copy.ts): fewer runs, the stores being equal. */
test(`over data received through the OTLP receiver: ${INGESTED_RUNS} fuzzed timeseries queries, the same guarantees`, async () => {
  const received = await ingestedCopy(FUZZ_DATASET);
  const on = await startEdge(received);
  try {
    const seen = await fuzzTimeseries(on, on.app.services.resources.list('t-1')[0]?.resourceId ?? '', INGESTED_RUNS);
    console.log(`fuzz over received data: ${seen.requests} requests, ${seen.ok} answered`);
  } finally {
    await on.close();
    await received.close();
  }
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
