/**
 * The random operations of test/security/tenant-isolation.test.ts: what
 * fast-check generates (fields relative to a subject tenant and a foreign one,
 * callers, whole operations), and how a field spec becomes a ResolvedField
 * with the fixture's ids.
 */
import fc from 'fast-check';
import { METRICS } from '../../catalog/catalog.ts';
import type { Ownership } from './security-edge.ts';
import type { InputValue } from './security-graphql.ts';
import type { Caller, ResolvedField } from './security-oracle.ts';

const M = 'io.confluent.kafka.server/';
const TS_METRICS = ['received_bytes', 'retained_bytes', 'request_count', 'active_connection_count', 'consumer_lag_offsets'];
const WINDOWS: readonly [string, string][] = [
  ['PT1H', 'now-6h/now'],
  ['PT5M', 'now-2h/now'],
  ['PT1M', 'now-30m/now'],
  ['P1D', 'now-2d|d/now|d'],
  ['ALL', 'now-1d/now'],
  ['PT15M', 'now-3h|h/now'],
  ['PT1H', '2026-11-19T00:00:00Z/2026-11-19T12:00:00Z'],
  ['ALL', '2026-11-18T00:00:00Z/P1D'],
];
export const PERIODS = ['2026-11-18T00:00:00Z/2026-11-20T00:00:00Z', 'now-1d|d/now|d', 'now-2d/now'];

/** A field as generated: picks relative to a subject tenant and a foreign one, resolved to ids later. */
const fieldSpec = fc.record({
  metric: fc.constantFrom(...TS_METRICS),
  clusters: fc.constantFrom('own', 'own2', 'ownBoth', 'foreign', 'missing', 'none', 'ownAndForeign'),
  topic: fc.constantFrom('none', 'ownPrivate', 'foreignPrivate', 'common'),
  groupBy: fc.constantFrom(
    [],
    ['resource_id'],
    ['topic'],
    ['resource_id', 'topic'],
    ['partition', 'topic'],
    ['request_type', 'consumer_group_id'],
  ),
  window: fc.nat(WINDOWS.length - 1),
  raw: fc.nat(7).map((n) => n === 0),
  orderByValue: fc.boolean(),
  limit: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
});
export type FieldSpec = typeof fieldSpec extends fc.Arbitrary<infer T> ? T : never;

const callerArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat(2).map((i): Caller => ({ role: 'customer', tenant: String(i) })) },
  { weight: 2, arbitrary: fc.constant<Caller>({ role: 'internal' }) },
  { weight: 1, arbitrary: fc.constant<Caller>({ role: 'billing' }) },
);

export const opArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('fields' as const),
      caller: callerArb,
      subject: fc.nat(2),
      foreign: fc.nat(1),
      fields: fc.array(fieldSpec, { minLength: 1, maxLength: 3 }),
      inline: fc.boolean(),
      repeat: fc.nat(2).map((n) => n === 0),
      missing: fc.nat(0xfffff),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('twin' as const),
      a: fc.nat(2),
      b: fc.nat(1),
      fields: fc.array(fieldSpec, { minLength: 1, maxLength: 3 }),
      inline: fc.boolean(),
      together: fc.boolean(),
      missing: fc.nat(0xfffff),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('probe' as const),
      tenant: fc.nat(2),
      foreign: fc.nat(1),
      field: fieldSpec,
      inline: fc.boolean(),
      missing: fc.nat(0xfffff),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('usage' as const),
      caller: callerArb,
      tenantArg: fc.option(fc.nat(3), { nil: undefined }),
      period: fc.nat(PERIODS.length - 1),
      first: fc.integer({ min: 1, max: 5 }),
      follow: fc.constantFrom('no', 'same', 'other'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resources' as const), caller: callerArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cold' as const), slowMs: fc.constantFrom(0, 0, 10) }) },
);
export type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Resolves a spec for `subject` (whose clusters in `own` are "own") against `foreign`, with `missing` for a missing id. */
export function resolve(own: Ownership, spec: FieldSpec, alias: string, subject: string, foreign: string, missing: string): ResolvedField {
  const [c0 = '', c1 = ''] = own.clustersOf.get(subject) ?? [];
  const f0 = own.clustersOf.get(foreign)?.[0] ?? '';
  const clusters = { own: [c0], own2: [c1], ownBoth: [c0, c1], foreign: [f0], missing: [missing], none: [], ownAndForeign: [c0, f0] }[
    spec.clusters
  ];
  const labels = METRICS.find((m) => m.name === M + spec.metric)?.labels ?? [];
  const parts: InputValue[] = [];
  if (clusters.length > 0)
    parts.push(
      clusters.length === 1
        ? { field: 'resource_id', op: 'EQ', value: clusters[0] ?? '' }
        : { field: 'resource_id', op: 'IN', values: clusters },
    );
  const hasTopic = (labels as readonly string[]).includes('topic');
  const topicOf = spec.topic === 'ownPrivate' ? subject : spec.topic === 'foreignPrivate' ? foreign : undefined;
  if (hasTopic && topicOf !== undefined) parts.push({ field: 'topic', op: 'EQ', value: `private-${topicOf}` });
  if (hasTopic && spec.topic === 'common')
    parts.push({
      or: [{ field: 'topic', op: 'IN', values: ['orders', 'payments'] }, { not: { field: 'topic', op: 'LTE', value: 'clicks' } }],
    });
  const [granularity = 'PT1H', interval = 'now-1h/now'] = WINDOWS[spec.window] ?? [];
  const query: Record<string, InputValue> = {
    metric: M + spec.metric,
    granularity,
    interval,
    groupBy: spec.groupBy.filter((g) => g === 'resource_id' || (labels as readonly string[]).includes(g)),
    orderBy: { by: spec.orderByValue ? 'VALUE' : 'LABELS' },
  };
  if (parts.length > 0) query['filter'] = parts.length === 1 ? (parts[0] ?? null) : { and: parts };
  if (spec.limit !== undefined) query['limit'] = spec.limit;
  if (spec.raw) query['source'] = 'RAW';
  return { alias, query, clusters, privateTopicOf: hasTopic ? topicOf : undefined, raw: spec.raw };
}

/** A fixed one-cluster field: 30 minutes of received_bytes by topic. */
export function resolveFixed(cluster: string): ResolvedField {
  const query: Record<string, InputValue> = {
    metric: `${M}received_bytes`,
    granularity: 'PT1M',
    interval: '2026-11-19T13:07:00Z/2026-11-19T13:37:00Z',
    filter: { field: 'resource_id', op: 'EQ', value: cluster },
    groupBy: ['topic'],
  };
  return { alias: 'x', query, clusters: [cluster], privateTopicOf: undefined, raw: false };
}
