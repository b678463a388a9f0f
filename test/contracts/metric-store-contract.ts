import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DAY_MS, MINUTE_MS, ROLLUPS, findMetric } from '../../catalog/catalog.ts';
import { ErrorCode, isStrataError } from '../../errors/strata-error.ts';
import { alignDown, alignUp } from '../../planner/interval.ts';
import { piecesOf, type Piece } from '../../planner/pieces.ts';
import type { Filter, GranularityName, Interval, TenantScope } from '../../planner/query.ts';
import type { MetricStore, ResourceRow, UsageRow } from '../../store/metric-store.ts';
import { SMALL } from '../helpers/fixture.ts';

const metric = findMetric('io.confluent.kafka.server/received_bytes');
const ALL: TenantScope = { kind: 'all' };
const tenant = (tenantId: string): TenantScope => ({ kind: 'tenant', tenantId });
/** What the seeded fixture holds: every minute of SMALL.days up to SMALL.end. */
const SEEDED: Interval = { start: SMALL.end - SMALL.days * DAY_MS, end: SMALL.end };

interface PieceShape {
  readonly scope: TenantScope;
  readonly interval: Interval;
  readonly granularity?: GranularityName;
  readonly groupBy?: readonly ('resource_id' | 'topic')[];
  readonly filter?: Filter;
}

/** Raw pieces of one SUM query (raw, so that no rollup's name is assumed). */
function rawPieces(shape: PieceShape): Piece[] {
  if (!metric) throw new Error('the catalog lost received_bytes');
  return piecesOf({
    query: {
      scope: shape.scope,
      metric,
      aggregation: 'SUM',
      granularity: shape.granularity ?? 'PT5M',
      interval: shape.interval,
      filter: shape.filter,
      groupBy: shape.groupBy ?? [],
      orderBy: { by: 'LABELS', direction: 'ASC' },
      limit: 100,
      offset: 0,
    },
    fragments: [{ source: 'raw', interval: shape.interval, level: undefined, reason: 'contract' }],
    decisions: [],
  });
}

const rejectsWith = async (run: () => Promise<unknown>, code: string): Promise<void> => {
  await assert.rejects(run, (e: unknown) => isStrataError(e) && e.code === code);
};

const aborted = (): AbortSignal => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

const sumsOf = (r: UsageRow): bigint[] => [r.ingressBytes, r.egressBytes, r.storageByteMinutes, r.partitionMinutes];

/**
 * The metric store contract, run against every implementation (DuckDB, the
 * IPC store, Druid). `open` returns a store holding the data of
 * `seededStore()` (test/helpers/fixture.ts, SMALL); `close` on it releases
 * everything the binding opened. One test rebuilds one finest-rollup bucket
 * past its watermark (with the same data), so a store is opened per suite.
 */
export function metricStoreContract(name: string, open: () => Promise<MetricStore>): void {
  let store: MetricStore;
  let resources: ResourceRow[];
  let tenants: string[];
  before(async () => {
    store = await open();
    resources = await store.listResources(ALL);
    tenants = [...new Set(resources.map((r) => r.tenantId))];
  });
  after(async () => store?.close());

  test(`${name}: listResources with a tenant scope returns that tenant's clusters and no other's`, async () => {
    assert.equal(tenants.length, SMALL.tenants);
    assert.equal(resources.length, SMALL.tenants * SMALL.clusters);
    for (const t of tenants) {
      const own = await store.listResources(tenant(t));
      assert.deepEqual(
        own,
        resources.filter((r) => r.tenantId === t),
      );
    }
    assert.deepEqual(await store.listResources(tenant('t-nobody')), []);
  });

  test(`${name}: queryPieces with a tenant scope reads only that tenant's clusters, even when a filter names another's`, async () => {
    const interval = { start: SEEDED.end - 3 * 3600_000, end: SEEDED.end };
    const [first, second] = tenants;
    assert.ok(first && second);
    const own = new Set(resources.filter((r) => r.tenantId === first).map((r) => r.resourceId));
    const grouped = rawPieces({ scope: tenant(first), interval, groupBy: ['resource_id'] });
    const rows = [...(await store.queryPieces({ pieces: grouped, lane: 'customer' })).values()].flat();
    assert.ok(rows.length > 0, 'the tenant has data');
    assert.deepEqual(new Set(rows.map((r) => r.labels.resource_id)), own);
    const theirs = resources.find((r) => r.tenantId === second)?.resourceId ?? '';
    const filter: Filter = { kind: 'field', field: 'resource_id', op: 'EQ', values: [theirs] };
    const foreign = rawPieces({ scope: tenant(first), interval, filter });
    const answer = await store.queryPieces({ pieces: foreign, lane: 'customer' });
    assert.deepEqual([...answer.values()].flat(), [], `tenant ${first} must not read ${theirs} of ${second}`);
  });

  test(`${name}: queryPieces answers every requested piece key, with no rows where there is no data`, async () => {
    const withData = rawPieces({ scope: ALL, interval: { start: SEEDED.end - 2 * 3600_000, end: SEEDED.end }, groupBy: ['topic'] });
    const future = rawPieces({ scope: ALL, interval: { start: SEEDED.end, end: SEEDED.end + 2 * 3600_000 }, groupBy: ['topic'] });
    const nobody = rawPieces({ scope: tenant('t-nobody'), interval: { start: SEEDED.end - 3600_000, end: SEEDED.end } });
    const asked = [...withData, ...future, ...nobody];
    const answer = await store.queryPieces({ pieces: asked, lane: 'internal' });
    assert.deepEqual(new Set(answer.keys()), new Set(asked.map((p) => p.key)));
    for (const p of withData) assert.ok((answer.get(p.key) ?? []).length > 0, `rows for ${p.key}`);
    for (const p of [...future, ...nobody]) assert.deepEqual(answer.get(p.key), [], `no rows for ${p.key}`);
    assert.deepEqual(await store.queryPieces({ pieces: [], lane: 'internal' }), new Map());
  });

  test(`${name}: an aborted signal rejects with UPSTREAM_TIMEOUT`, async () => {
    const pieces = rawPieces({ scope: ALL, interval: { start: SEEDED.end - 3600_000, end: SEEDED.end } });
    await rejectsWith(() => store.queryPieces({ pieces, lane: 'customer', signal: aborted() }), ErrorCode.UPSTREAM_TIMEOUT);
    const interval = { start: SEEDED.end - DAY_MS, end: SEEDED.end };
    await rejectsWith(
      () => store.usage({ scope: ALL, interval, rollupUntil: interval.start, signal: aborted() }),
      ErrorCode.UPSTREAM_TIMEOUT,
    );
    await store.ping(); // and the store still answers
  });

  test(`${name}: rawDataRange is the extent of the data, minute for minute`, async () => {
    const range = await store.rawDataRange();
    assert.deepEqual(range, SEEDED);
    const minute = (start: number): Piece[] =>
      rawPieces({ scope: ALL, interval: { start, end: start + MINUTE_MS }, granularity: 'PT1M', groupBy: ['resource_id'] });
    const inside = [...minute(SEEDED.start), ...minute(SEEDED.end - MINUTE_MS)];
    const outside = [...minute(SEEDED.start - MINUTE_MS), ...minute(SEEDED.end)];
    const answer = await store.queryPieces({ pieces: [...inside, ...outside], lane: 'internal' });
    for (const p of inside) assert.ok((answer.get(p.key) ?? []).length > 0, `the first and last minutes hold data (${p.interval.start})`);
    for (const p of outside) assert.deepEqual(answer.get(p.key), [], `nothing just outside (${p.interval.start})`);
  });

  test(`${name}: usage sums are bigint, tenant-scoped, and the same whether days come from the daily rollup or raw`, async () => {
    const daily = ROLLUPS.find((r) => r.bucketMs === DAY_MS);
    assert.ok(daily, 'the catalog has a daily rollup');
    const until = (await store.readWatermarks())[daily.name] ?? 0;
    const interval = { start: alignDown(SEEDED.start, DAY_MS), end: alignUp(SEEDED.end, DAY_MS) };
    assert.ok(until > interval.start && until < interval.end, 'the seeded daily rollup covers part of the interval');
    const split = await store.usage({ scope: ALL, interval, rollupUntil: until });
    const raw = await store.usage({ scope: ALL, interval, rollupUntil: interval.start });
    assert.ok(split.length > 0);
    for (const row of split) for (const sum of sumsOf(row)) assert.equal(typeof sum, 'bigint');
    assert.deepEqual(split, raw);
    for (const t of tenants) {
      const own = await store.usage({ scope: tenant(t), interval, rollupUntil: until });
      assert.deepEqual(
        own,
        split.filter((r) => r.tenantId === t),
      );
    }
    assert.deepEqual(await store.usage({ scope: tenant('t-nobody'), interval, rollupUntil: until }), []);
  });

  test(`${name}: readWatermarks has a number per rollup, and buildRollup moves the built one forward`, async () => {
    const before = await store.readWatermarks();
    for (const r of ROLLUPS) assert.ok(Number.isFinite(before[r.name]), `a watermark for ${r.name}`);
    const finest = ROLLUPS.reduce((a, b) => (b.bucketMs < a.bucketMs ? b : a));
    const from = before[finest.name] ?? 0;
    const interval = { start: from, end: from + finest.bucketMs };
    assert.ok(interval.end <= SEEDED.end, 'the seeded rollups lag the data');
    const touched = await store.buildRollup(finest.name, interval);
    assert.deepEqual(touched.tenants, [...tenants].sort());
    assert.ok(touched.metrics.includes(metric?.name ?? ''));
    const marks = await store.readWatermarks();
    assert.equal(marks[finest.name], interval.end);
    for (const r of ROLLUPS) if (r.name !== finest.name) assert.equal(marks[r.name], before[r.name], `${r.name} did not move`);
  });

  test(`${name}: ping resolves`, async () => {
    await store.ping();
  });
}
