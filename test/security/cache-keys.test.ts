import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { isStrataError } from '../../errors/strata-error.ts';
import { verifyToken } from '../../auth/verify-token.ts';
import { DAY_MS, HOUR_MS, METRICS } from '../../catalog/catalog.ts';
import type { CacheStore, VersionedRead } from '../../cache/cache-store.ts';
import { MemoryCache } from '../../cache/memory-cache.ts';
import { ResultCache } from '../../cache/result-cache.ts';
import { loadConfig } from '../../config/config.ts';
import { encodeCursor, normalize, type FilterInput, type TimeseriesArgs } from '../../pipeline/normalize.ts';
import { GRANULARITY_NAMES } from '../../planner/granularity.ts';
import { piecesOf, type Piece } from '../../planner/pieces.ts';
import { plan } from '../../planner/plan.ts';
import { scopeId, type PartialRow, type TenantScope } from '../../planner/query.ts';
import { propertyRuns } from '../helpers/runs.ts';

/**
 * Cache keys never collide across tenants, scopes or arguments: a piece key
 * is equal for two pieces exactly when everything that decides its rows is
 * equal, for any tenant id (even ones tokens can never carry: `:`, `|`,
 * braces, Unicode), and the generation counters of one scope are never
 * another's. Tenant ids that tokens can carry are pinned by the TENANT_ID
 * rule, checked here too. STRATA_SECURITY_SEED replays another sequence.
 */
const SEED = Number(process.env['STRATA_SECURITY_SEED'] ?? 20261120);
const config = loadConfig({}, { STRATA_ENV: 'test', STRATA_LOG_LEVEL: 'silent' });
const NOW = Date.parse('2026-11-20T00:00:00Z');
const STATE = { now: NOW, watermarks: { rollup_1h: NOW - 2 * HOUR_MS, rollup_1d: NOW - DAY_MS } };

/** Strings built to break naive key concatenation. */
const nasty = fc.oneof(
  fc.constantFrom(
    '',
    ':',
    '|',
    '{',
    '}',
    '{t:a}',
    'a}:b',
    '*',
    't:*',
    'a|b',
    'a:b',
    '\u0000',
    'é',
    'e\u0301',
    '租户',
    '🙂',
    '"',
    "'; DROP TABLE x; --",
  ),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.stringMatching(/^[A-Za-z0-9:|{}*]{1,8}$/),
);
const scopeArb: fc.Arbitrary<TenantScope> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<TenantScope>({ kind: 'all' }) },
  { weight: 5, arbitrary: nasty.map((tenantId): TenantScope => ({ kind: 'tenant', tenantId })) },
);

const leafArb = (labels: readonly string[]): fc.Arbitrary<FilterInput> =>
  fc
    .record({
      field: fc.constantFrom('resource_id', ...labels),
      op: fc.constantFrom('EQ' as const, 'NEQ' as const, 'IN' as const, 'GT' as const),
      values: fc.array(nasty, { minLength: 1, maxLength: 3 }),
    })
    .map((f) => (f.op === 'IN' ? f : { field: f.field, op: f.op, value: f.values[0] ?? '' }));

const argsArb: fc.Arbitrary<TimeseriesArgs> = fc.constantFrom(...METRICS).chain((m) =>
  fc.record({
    metric: fc.constant(m.name),
    granularity: fc.constantFrom(...GRANULARITY_NAMES.filter((g) => g !== 'PT1M')),
    interval: fc.constantFrom('now-1d/now', 'now-6h/now', '2026-11-18T00:00:00Z/2026-11-19T00:00:00Z', 'now-2d|d/now|d'),
    groupBy: fc.subarray(['resource_id', ...m.labels]),
    filter: fc.option(
      fc.oneof(
        leafArb(m.labels),
        fc.array(leafArb(m.labels), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
      ),
      { nil: undefined },
    ),
  }),
);

/** Everything that decides a piece's rows; two pieces may share a key only if these are equal. */
const identity = (p: Piece): string =>
  JSON.stringify([
    p.scope.kind === 'tenant' ? ['t', p.scope.tenantId] : ['all'],
    p.metric,
    p.source,
    p.level ?? null,
    p.filter ?? null,
    p.groupBy,
    p.bucketMs,
    p.interval,
  ]);

function piecesFor(scope: TenantScope, args: TimeseriesArgs): Piece[] {
  try {
    return piecesOf(plan(normalize(args, scope, NOW, config.limits), STATE));
  } catch (error) {
    if (isStrataError(error)) return []; // arguments the API rejects make no pieces
    throw error;
  }
}

test('piece keys are equal exactly when scope, metric, source, level, filter, groupBy, bucket and interval are', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(scopeArb, argsArb), { minLength: 2, maxLength: 8 }), (queries) => {
      const byKey = new Map<string, string>();
      const byShape = new Map<string, string>();
      for (const [scope, args] of queries) {
        for (const p of piecesFor(scope, args)) {
          const id = identity(p);
          assert.equal(byKey.get(p.key) ?? id, id, `key ${p.key} serves two different pieces`);
          byKey.set(p.key, id);
          const shapeId = JSON.stringify(JSON.parse(id).slice(0, 7));
          assert.equal(byShape.get(p.shape) ?? shapeId, shapeId, `shape ${p.shape} groups pieces of different shapes`);
          byShape.set(p.shape, shapeId);
          assert.ok(p.key.startsWith(`strata:v1:{${scopeId(p.scope)}}:`), `key ${p.key} does not start with its scope`);
        }
      }
      const ids = new Set(byKey.values());
      assert.equal(ids.size, byKey.size, 'one piece under two keys');
    }),
    { seed: SEED, numRuns: propertyRuns(300) },
  );
});

test('the same query for two scopes never shares a key, a generation counter, a cached value or a cursor', async () => {
  await fc.assert(
    fc.asyncProperty(scopeArb, scopeArb, argsArb, async (a, b, args) => {
      fc.pre(scopeId(a) !== scopeId(b));
      const [pa, pb] = [piecesFor(a, args), piecesFor(b, args)];
      fc.pre(pa.length > 0);
      const keysB = new Set(pb.map((p) => p.key));
      assert.ok(pa.every((p) => !keysB.has(p.key)));
      const reads: VersionedRead[] = [];
      const memory = new MemoryCache({ maxBytes: 1 << 20 });
      const recording: CacheStore = { ...bind(memory), getVersioned: (r) => (reads.push(...r), memory.getVersioned(r)) };
      const cache = new ResultCache(recording, { completeTtlMs: 60_000, freshTtlMs: 60_000 });
      const row: PartialRow = { bucket: pa[0]?.interval.start ?? 0, labels: {}, sum: 1, min: 1, max: 1, minutes: 1, samples: 1 };
      const fillA = await cache.lookup(pa);
      await cache.fill(pa, new Map(pa.map((p) => [p.key, [row]])), fillA.entryKeys, NOW);
      const genA = new Set(reads.flatMap((r) => r.generationKeys));
      reads.length = 0;
      const lookupB = await cache.lookup(pb);
      assert.equal(lookupB.hits.size, 0, `scope ${scopeId(b)} read scope ${scopeId(a)}'s values`);
      assert.ok(
        reads.flatMap((r) => r.generationKeys).every((k) => !genA.has(k)),
        'two scopes share a generation counter',
      );
      // Invalidating b leaves a's entries alone; invalidating a drops them.
      await cache.invalidate([scopeId(b)], [args.metric], { start: NOW - 3 * DAY_MS, end: NOW });
      assert.equal((await cache.lookup(pa)).hits.size, pa.length);
      await cache.invalidate([scopeId(a)], [args.metric], { start: NOW - 3 * DAY_MS, end: NOW });
      assert.equal((await cache.lookup(pa)).hits.size, 0);
      // A page cursor of a's query is refused for b's.
      const qa = normalize(args, a, NOW, config.limits);
      assert.throws(
        () => normalize({ ...args, after: encodeCursor(qa, 1) }, b, NOW, config.limits),
        (e: unknown) => isStrataError(e) && e.code === 'INVALID_CURSOR',
      );
      assert.equal(normalize({ ...args, after: encodeCursor(qa, 1) }, a, NOW, config.limits).offset, 1);
    }),
    { seed: SEED, numRuns: propertyRuns(120) },
  );
});

function bind(cache: MemoryCache): CacheStore {
  return {
    name: cache.name,
    getMany: (k) => cache.getMany(k),
    getVersioned: (r) => cache.getVersioned(r),
    setMany: (e) => cache.setMany(e),
    getGenerations: (k) => cache.getGenerations(k),
    bumpGenerations: (k) => cache.bumpGenerations(k),
    ping: () => cache.ping(),
    close: () => cache.close(),
  };
}

/** The documented rule for tenant ids in customer tokens (auth/verify-token.ts TENANT_ID). */
const TENANT_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function acceptsTenant(tenantId: unknown): Promise<boolean> {
  if (config.jwt.kind !== 'hmac') throw new Error('the test configuration signs with the development secret');
  const token = jwt.sign({ role: 'customer', tenant_id: tenantId }, config.jwt.secret, {
    algorithm: 'HS256',
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    expiresIn: 600,
  });
  try {
    const who = await verifyToken(token, config.jwt);
    assert.equal(who.tenantId, tenantId);
    return true;
  } catch (error) {
    assert.ok(isStrataError(error) && error.code === 'UNAUTHENTICATED', String(error));
    return false;
  }
}

test('a customer token carries a tenant id only if it matches the TENANT_ID rule: no separators, braces, wildcards or Unicode', async () => {
  for (const bad of [
    '',
    ':',
    'a:b',
    'a|b',
    '{a}',
    'a}',
    '*',
    't:*',
    '.a',
    '-a',
    '_a',
    'é',
    'a\u0000',
    'a b',
    'a/b',
    'x'.repeat(65),
    '租户',
    42,
    null,
    ['t-1'],
  ]) {
    assert.equal(await acceptsTenant(bad), false, `tenant id ${JSON.stringify(bad)} must be refused`);
  }
  for (const good of ['t-1', 'Acme.EU_3-x', '0', 'x'.repeat(64)]) assert.equal(await acceptsTenant(good), true, good);
  await fc.assert(
    fc.asyncProperty(fc.oneof(nasty, fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/)), async (id) => {
      assert.equal(await acceptsTenant(id), TENANT_RULE.test(id), JSON.stringify(id));
    }),
    { seed: SEED, numRuns: propertyRuns(300) },
  );
});
