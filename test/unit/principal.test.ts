import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asReader, asWriter, callerKey, principalFor, scopeOf, writeScopeOf } from '../../auth/principal.ts';
import { runUsage } from '../../pipeline/usage-pipeline.ts';
import { scopesOfTenants, type TenantScope } from '../../planner/query.ts';
import type { MetricStore, UsageRequest } from '../../store/metric-store.ts';

test('a customer principal always has its tenant: scoping cannot fall back to all tenants', () => {
  assert.throws(() => principalFor('customer', 'u', undefined), /needs its tenant/);
  assert.throws(() => principalFor('customer', 'u', ''), /needs its tenant/);
  assert.deepEqual(scopeOf(asReader(principalFor('customer', 'u', 't-1'))), { kind: 'tenant', tenantId: 't-1' });
  assert.deepEqual(
    scopeOf(asReader(principalFor('internal', 'ops', 't-1'))),
    { kind: 'all' },
    'a tenant claim does not narrow other roles',
  );
  assert.equal(principalFor('billing', 'job', 't-1').tenantId, undefined);
  assert.equal(callerKey(principalFor('customer', 'u', 't-1')), 't:t-1');
  assert.equal(callerKey(principalFor('internal', 'ops', undefined)), 'internal:ops');
});

test('a collector writes any registered cluster and reads nothing; a customer writes its own tenant only', () => {
  const collector = principalFor('collector', 'otel-gw', 't-1');
  assert.equal(collector.tenantId, undefined, 'a tenant claim does not narrow (or widen) a collector');
  assert.throws(() => asReader(collector), /FORBIDDEN|reads nothing/);
  assert.deepEqual(writeScopeOf(asWriter(collector)), { kind: 'all' });
  assert.deepEqual(writeScopeOf(asWriter(principalFor('customer', 'u', 't-1'))), { kind: 'tenant', tenantId: 't-1' });
  for (const role of ['internal', 'billing'] as const)
    assert.throws(() => asWriter(principalFor(role, 'x', undefined)), /cannot write telemetry/);
  assert.equal(callerKey(collector), 'collector:otel-gw');
});

test('one function names the scopes data of some tenants feeds: theirs and the all-tenants scope', () => {
  assert.deepEqual(scopesOfTenants(['t-1', 't-2']), ['t:t-1', 't:t-2', '*']);
  assert.deepEqual(scopesOfTenants([]), ['*']);
});

test('usage: tenantId narrows the token scope and never replaces it', async () => {
  const asked: TenantScope[] = [];
  const store = { usage: async (request: UsageRequest) => (asked.push(request.scope), []) } as unknown as MetricStore;
  const ctx = (scope: TenantScope) => ({
    scope,
    now: Date.parse('2026-11-20T00:00:00Z'),
    store,
    usageWatermark: 0,
    latenessMs: 48 * 3_600_000,
    signal: undefined,
  });
  await runUsage({ period: 'now-1d|d/now|d', tenantId: 't-2' }, ctx({ kind: 'all' }));
  await runUsage({ period: 'now-1d|d/now|d' }, ctx({ kind: 'tenant', tenantId: 't-1' }));
  await runUsage({ period: 'now-1d|d/now|d', tenantId: 't-1' }, ctx({ kind: 'tenant', tenantId: 't-1' }));
  await assert.rejects(
    runUsage({ period: 'now-1d|d/now|d', tenantId: 't-2' }, ctx({ kind: 'tenant', tenantId: 't-1' })),
    /FORBIDDEN|reads the usage of tenant t-1 only/,
  );
  assert.deepEqual(asked, [
    { kind: 'tenant', tenantId: 't-2' },
    { kind: 'tenant', tenantId: 't-1' },
    { kind: 'tenant', tenantId: 't-1' },
  ]);
});
