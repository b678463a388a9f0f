import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { DAY_MS, METRICS } from '../../catalog/catalog.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { END } from '../helpers/fixture.ts';
import { ingestedSecurityStore } from '../helpers/ingested-copy.ts';
import {
  ownership,
  RecordingStore,
  redisUrlForTest,
  securityStore,
  startEdge,
  type Edge,
  type EdgeResponse,
  type Ownership,
} from '../helpers/security-edge.ts';
import { timeseriesDocument, type InputValue } from '../helpers/security-graphql.ts';
import { opArb, PERIODS, resolve, resolveFixed, type Op } from '../helpers/isolation-ops.ts';
import { callerName, violations, type Caller, type ResolvedField } from '../helpers/security-oracle.ts';

/**
 * Tenant isolation through the real HTTP edge, against an oracle computed from
 * the DuckDB data: thousands of random operations by customers of three
 * tenants, internal and billing callers, on a memory-cached and a
 * Redis-cached replica, warm and cold, must never show a customer a series,
 * label, row or id of another tenant, and every answer must match the README's
 * role table. STRATA_SECURITY_SEED replays another sequence.
 */
const SEED = Number(process.env['STRATA_SECURITY_SEED'] ?? 20261120);
const RUNS = 50;
const OPS_PER_RUN = 40;
const INGESTED_RUNS = 10;

let store: DuckDbStore;
let recording: RecordingStore;
let edges: Edge[] = [];
let own: Ownership;
let tally = { requests: 0, nonEmpty: 0, codes: new Map<string, number>() };

/** Edges (memory- and Redis-cached, both empty) over `next`, in place of those over the previous store, which are closed. */
async function serve(next: () => Promise<DuckDbStore>): Promise<void> {
  // First: without the suite's Redis this fails before any server is started, so none is left open to hang the run.
  const redisUrl = await redisUrlForTest(9);
  const fresh = await next();
  for (const e of edges) await e.close();
  await store?.close();
  store = fresh;
  own = await ownership(store);
  recording = new RecordingStore(store);
  edges = [
    await startEdge(recording),
    await startEdge(recording, { STRATA_CACHE: 'redis', REDIS_URL: redisUrl, STRATA_REDIS_TIMEOUT: '2s' }),
  ];
}

before(async () => serve(securityStore));

after(async () => {
  for (const e of edges) await e.close();
  await store?.close();
});

const tokenOf = (edge: Edge, c: Caller): string => edge.token(c.role, c.role === 'customer' ? c.tenant : undefined);

async function send(edge: Edge, caller: Caller, query: string, variables: Record<string, unknown>): Promise<EdgeResponse> {
  tally.requests += 1;
  const response = await edge.post(tokenOf(edge, caller), query, variables);
  for (const e of response.body.errors ?? []) {
    const code = String(e.extensions?.['code']);
    tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
  }
  return response;
}

const tenantAt = (i: number): string => own.tenants[i % own.tenants.length] ?? '';
const foreignOf = (subject: string, i: number): string => own.tenants.filter((t) => t !== subject)[i % (own.tenants.length - 1)] ?? '';
const customerOf = (c: Caller): Caller => (c.role === 'customer' ? { role: 'customer', tenant: tenantAt(Number(c.tenant)) } : c);

function missingId(n: number): string {
  for (let i = n; ; i += 1) {
    const id = `lkc-${(i % 0x100000).toString(16).padStart(5, '0')}`;
    if (!own.ownerOf.has(id)) return id;
  }
}

async function runFields(edge: Edge, caller: Caller, fields: ResolvedField[], inline: boolean): Promise<void> {
  const doc = timeseriesDocument(fields, inline ? 'inline' : 'variables');
  const response = await send(edge, caller, doc.query, doc.variables);
  const found = violations(caller, fields, response, own, doc.query + JSON.stringify(doc.variables));
  assert.deepEqual(
    found,
    [],
    `${callerName(caller)} sent ${doc.query} ${JSON.stringify(doc.variables)}\nanswer: ${response.text.slice(0, 2000)}`,
  );
  for (const f of fields) if ((response.body.data?.[f.alias] as { series?: unknown[] } | null)?.series?.length) tally.nonEmpty += 1;
}

async function runOp(edge: Edge, op: Op): Promise<void> {
  switch (op.kind) {
    case 'fields': {
      const caller = customerOf(op.caller);
      const subject = caller.role === 'customer' ? caller.tenant : tenantAt(op.subject);
      const foreign = foreignOf(subject, op.foreign);
      const fields = op.fields.map((s, i) => resolve(own, s, `f${i}`, subject, foreign, missingId(op.missing)));
      await runFields(edge, caller, fields, op.inline);
      // The same document again: now answered (partly) from the cache this caller's scope filled.
      if (op.repeat) await runFields(edge, caller, fields, !op.inline);
      return;
    }
    case 'twin': {
      // One document, written for tenant a, sent by a, b and a again (warm) back to back, or by a, b, internal and a at once.
      const a = tenantAt(op.a);
      const b = foreignOf(a, op.b);
      const fields = op.fields.map((s, i) => resolve(own, s, `f${i}`, a, b, missingId(op.missing)));
      const senders: Caller[] = [
        { role: 'customer', tenant: a },
        { role: 'customer', tenant: b },
        ...(op.together ? [{ role: 'internal' } as const] : []),
        { role: 'customer', tenant: a },
      ];
      if (op.together) await Promise.all(senders.map((who) => runFields(edge, who, fields, op.inline)));
      else for (const who of senders) await runFields(edge, who, fields, op.inline);
      return;
    }
    case 'probe':
      return probe(edge, tenantAt(op.tenant), op);
    case 'usage':
      return usage(edge, customerOf(op.caller), op);
    case 'resources': {
      const caller = customerOf(op.caller);
      const response = await send(edge, caller, '{ resources { id tenantId } }', {});
      const rows = (response.body.data?.['resources'] ?? []) as { id: string; tenantId: string }[];
      const expected = [...own.ownerOf]
        .filter(([, t]) => caller.role !== 'customer' || t === caller.tenant)
        .map(([id, tenantId]) => ({ id, tenantId }));
      assert.deepEqual(rows, expected, `${callerName(caller)}: resources`);
      return;
    }
    case 'cold': {
      recording.delayMs = op.slowMs;
      const scopes = ['*', ...own.tenants.map((t) => `t:${t}`)];
      await edge.app.resultCache.invalidate(
        scopes,
        METRICS.map((m) => m.name),
        { start: END - 2 * DAY_MS, end: END },
      );
    }
  }
}

/** A foreign cluster and a missing one get the same status and the same answer, ids aside. */
async function probe(edge: Edge, tenant: string, op: Extract<Op, { kind: 'probe' }>): Promise<void> {
  const caller: Caller = { role: 'customer', tenant };
  const foreignCluster = own.clustersOf.get(foreignOf(tenant, op.foreign))?.[0] ?? '';
  const missing = missingId(op.missing);
  const answers: string[] = [];
  const statuses: number[] = [];
  for (const id of [foreignCluster, missing]) {
    const field = resolve(
      own,
      { ...op.field, clusters: op.field.clusters === 'ownAndForeign' ? 'ownAndForeign' : 'foreign' },
      'p',
      tenant,
      foreignOf(tenant, op.foreign),
      missing,
    );
    const named = { ...field, query: JSON.parse(JSON.stringify(field.query).replaceAll(foreignCluster, id)) as Record<string, InputValue> };
    const doc = timeseriesDocument([named], op.inline ? 'inline' : 'variables');
    const response = await send(edge, caller, doc.query, doc.variables);
    statuses.push(response.status);
    answers.push(response.text.replaceAll(id, 'ID'));
  }
  assert.equal(statuses[0], statuses[1]);
  assert.equal(answers[0], answers[1], `customer ${tenant}: foreign ${foreignCluster} vs missing ${missing}`);
  assert.match(answers[0] ?? '', /"code":"(RESOURCE_NOT_FOUND|FORBIDDEN)"/);
}

const USAGE =
  'query U($p: String!, $t: String, $n: Int, $a: String) { usage(period: $p, tenantId: $t, first: $n, after: $a) { rows { tenantId resourceId day ingressBytes status } pageInfo { hasNextPage endCursor } } }';
type UsageRows = {
  rows: { tenantId: string; resourceId: string; day: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};

async function usage(edge: Edge, caller: Caller, op: Extract<Op, { kind: 'usage' }>): Promise<void> {
  const tenantArg = op.tenantArg === undefined ? null : op.tenantArg === 3 ? 'no-such-tenant' : tenantAt(op.tenantArg);
  const vars = { p: PERIODS[op.period], t: tenantArg, n: op.first };
  const response = await send(edge, caller, USAGE, vars);
  const what = `${callerName(caller)} usage ${JSON.stringify(vars)}: ${response.text.slice(0, 500)}`;
  if (caller.role === 'customer') {
    assert.equal(response.body.errors?.[0]?.extensions?.['code'], 'FORBIDDEN', what);
    assert.ok(!own.tenants.some((t) => t !== caller.tenant && t !== tenantArg && response.text.includes(t)), what);
    return;
  }
  const page = response.body.data?.['usage'] as UsageRows | undefined;
  assert.ok(page, what);
  for (const r of page.rows) {
    assert.equal(own.ownerOf.get(r.resourceId), r.tenantId, what);
    if (tenantArg !== null) assert.equal(r.tenantId, tenantArg, what);
  }
  if (tenantArg === null) assert.ok(page.rows.length > 0, what);
  if (op.follow === 'no' || !page.pageInfo.endCursor) return;
  const other = op.follow === 'other' ? foreignOf(tenantArg ?? tenantAt(0), 0) : tenantArg;
  const next = await send(edge, caller, USAGE, { ...vars, t: other, a: page.pageInfo.endCursor });
  if (op.follow === 'other') {
    assert.equal(next.body.errors?.[0]?.extensions?.['code'], 'INVALID_CURSOR', `cursor of ${tenantArg} reused for ${other}: ${next.text}`);
    return;
  }
  const rows = (next.body.data?.['usage'] as UsageRows | undefined)?.rows ?? [];
  const seen = new Set(page.rows.map((r) => `${r.day}|${r.tenantId}|${r.resourceId}`));
  assert.ok(
    rows.every((r) => !seen.has(`${r.day}|${r.tenantId}|${r.resourceId}`) && (tenantArg === null || r.tenantId === tenantArg)),
    next.text,
  );
}

/** `runs` runs of OPS_PER_RUN random operations over the current edges, every answer checked against the oracle. */
async function randomOperations(runs: number): Promise<void> {
  tally = { requests: 0, nonEmpty: 0, codes: new Map<string, number>() };
  const ops = fc.array(fc.tuple(fc.nat(edges.length - 1), opArb), { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN });
  await fc.assert(
    fc.asyncProperty(ops, async (list) => {
      // Three at a time: concurrent identical and near-identical requests meet in the loaders.
      for (let i = 0; i < list.length; i += 3) {
        await Promise.all(list.slice(i, i + 3).map(([e, op]) => runOp(edges[e] as Edge, op))).catch((error: unknown) => {
          // fast-check reports the seed and the operations; the cause is printed here.
          console.error(`seed ${SEED}: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        });
      }
    }),
    { seed: SEED, numRuns: runs, endOnFailure: true },
  );
  recording.delayMs = 0;
  const mixed = recording.calls.filter((c) => c.scopes.length !== 1);
  assert.deepEqual(mixed, [], 'a store call mixed tenant scopes');
  const [memory, redis] = edges.map((e) => e.app.services.loaders.totals);
  console.log(
    `isolation: ${tally.requests} requests, ${tally.nonEmpty} non-empty fields, codes ${JSON.stringify(Object.fromEntries(tally.codes))}, ` +
      `memory cache ${JSON.stringify(memory)}, redis cache ${JSON.stringify(redis)}`,
  );
  // The bounds of the full suite (RUNS runs), in proportion for fewer.
  const share = runs / RUNS;
  assert.ok(tally.requests >= 2000 * share, `${tally.requests} requests`);
  assert.ok(tally.nonEmpty >= 500 * share, 'too few non-empty answers: the oracle would be vacuous');
  for (const totals of [memory, redis]) {
    assert.ok(
      (totals?.cacheHits ?? 0) > 100 * share && (totals?.cacheMisses ?? 0) > 100 * share,
      'both caches must be exercised warm and cold',
    );
    assert.equal(totals?.cacheUnavailable, 0, 'the cache must answer (Redis reachable)');
  }
}

test(`${RUNS * OPS_PER_RUN} random operations by 3 tenants, internal and billing never cross a tenant boundary (seed ${SEED})`, async () => {
  await randomOperations(RUNS);
});

test('identical queries of several tenants while the store is held: one store call per scope, never a shared promise', async () => {
  const edge = edges[0] as Edge;
  const [t1 = '', t2 = ''] = own.tenants;
  const [k1 = '', k2 = ''] = [own.clustersOf.get(t1)?.[0], own.clustersOf.get(t2)?.[0]];
  const field = (k: string): ResolvedField => resolveFixed(k);
  const customer1: Caller = { role: 'customer', tenant: t1 };
  const customer2: Caller = { role: 'customer', tenant: t2 };
  const internal: Caller = { role: 'internal' };
  const callsBefore = recording.calls.length;
  const totals = edge.app.services.loaders.totals;
  const missesBefore = totals.cacheMisses;
  let release = (): void => undefined;
  recording.gate = new Promise<void>((r) => (release = r));
  const sends: [Caller, ResolvedField][] = [
    [customer1, field(k1)],
    [customer1, field(k1)],
    [internal, field(k1)],
    [customer2, field(k1)],
    [customer2, field(k2)],
  ];
  const pending = sends.map(([who, f]) => {
    const doc = timeseriesDocument([f], 'variables');
    return send(edge, who, doc.query, doc.variables).then((r) => ({ who, f, r, text: doc.query + JSON.stringify(doc.variables) }));
  });
  // Release the store only once the four authorized requests have all missed the cache (one piece each).
  for (let i = 0; totals.cacheMisses - missesBefore < 4; i += 1) {
    assert.ok(i < 2000, 'the requests did not reach the piece loader');
    await new Promise((r) => setTimeout(r, 5));
  }
  release();
  const answers = await Promise.all(pending);
  recording.gate = undefined;
  for (const a of answers) assert.deepEqual(violations(a.who, [a.f], a.r, own, a.text), [], a.r.text);
  const calls = recording.calls.slice(callsBefore);
  assert.deepEqual(
    calls.map((c) => c.scopes).sort(),
    [['*'], [t1], [t2]].sort(),
    'one store call per scope: two t1 requests coalesced, internal and t2 apart',
  );
  const series = answers.map((a) => JSON.stringify(a.r.body.data?.['x'] ?? null));
  assert.equal(series[0], series[1]);
  assert.equal(series[2], series[0], 'internal reads the same cluster with its own store call');
  assert.equal(series[3], 'null');
  assert.notEqual(series[4], series[0]);
});

/**
 * The same over data that came in through POST /v1/metrics (test/helpers/ingested-copy.ts): fresh edges
 * and caches over the received store, its oracle computed from it. Fewer runs: the stores are equal
 * (test/ingested-equals-seeded.test.ts), what this adds is the suite end to end over received data.
 */
test(`over data received through the OTLP receiver: ${INGESTED_RUNS * OPS_PER_RUN} random operations, no tenant boundary crossed`, async () => {
  await serve(ingestedSecurityStore);
  await randomOperations(INGESTED_RUNS);
});
