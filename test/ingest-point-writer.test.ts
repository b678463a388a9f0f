import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LABEL_COLUMNS } from '../catalog/catalog.ts';
import { deriveRawRows } from '../ingest/derive-raw-rows.ts';
import type { DerivedRow, IngestPoint, Temporality } from '../ingest/ingest-point.ts';
import { DuckDbPointWriter } from '../store/duckdb/duckdb-point-writer.ts';
import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { propertyRuns } from './helpers/runs.ts';

/**
 * The DuckDB point writer against the derivation rule (ingest/derive-raw-rows.ts):
 * whatever batches the points come in, in whatever order, however often
 * repeated, the raw rows are the rule applied to the set of points.
 */
const M = 'io.confluent.kafka.server/';
const T0 = 1_790_000_000_000_000_000n; // 2026-09-21, nanoseconds
const SERIES: readonly { metric: string; labels: IngestPoint['labels']; temporality: Temporality }[] = [
  { metric: `${M}received_bytes`, labels: { topic: 'orders' }, temporality: 'cumulative' },
  { metric: `${M}received_bytes`, labels: { topic: 'payments' }, temporality: 'cumulative' },
  { metric: `${M}sent_bytes`, labels: { topic: 'orders' }, temporality: 'delta' },
  { metric: `${M}retained_bytes`, labels: { topic: 'orders', partition: '0' }, temporality: 'gauge' },
];

async function storeWithClusters(): Promise<{ store: DuckDbStore; writer: DuckDbPointWriter }> {
  const store = await DuckDbStore.open(':memory:');
  await store.exec(`INSERT INTO resources VALUES ('t-1', 'lkc-a'), ('t-2', 'lkc-b')`, []);
  return { store, writer: await DuckDbPointWriter.open(store.duckdb) };
}

async function rawRows(store: DuckDbStore): Promise<string[]> {
  const rows = await store.read(
    `SELECT CAST(epoch_ms(__time) AS BIGINT) AS m, tenant_id, resource_id, metric, ${LABEL_COLUMNS.map((c) => `"${c}"`).join(', ')}, value
     FROM telemetry_raw ORDER BY ALL`,
    [],
  );
  return rows
    .map((r) => JSON.stringify([Number(r['m']), r['resource_id'], r['metric'], ...LABEL_COLUMNS.map((c) => r[c] ?? null), r['value']]))
    .sort();
}

const oracle = (rows: DerivedRow[]): string[] =>
  rows.map((r) => JSON.stringify([r.minuteMs, r.resourceId, r.metric, ...LABEL_COLUMNS.map((c) => r.labels[c] ?? null), r.value])).sort();

const pointArb = fc.record({
  series: fc.integer({ min: 0, max: SERIES.length - 1 }),
  cluster: fc.constantFrom('lkc-a', 'lkc-b'),
  start: fc.integer({ min: 0, max: 2 }),
  second: fc.integer({ min: 0, max: 20 * 60 - 1 }),
  value: fc.integer({ min: 0, max: 5000 }),
});

function pointOf(p: { series: number; cluster: string; start: number; second: number; value: number }): IngestPoint {
  const s = SERIES[p.series]!;
  const startNs = s.temporality === 'gauge' ? 0n : T0 - 3_600_000_000_000n + BigInt(p.start) * 600_000_000_000n;
  return {
    resourceId: p.cluster,
    metric: s.metric,
    labels: s.labels,
    temporality: s.temporality,
    startNs,
    timeNs: T0 + BigInt(p.second) * 1_000_000_000n,
    value: p.value,
  };
}

test('raw rows equal the rule applied to the set of points, whatever the batches, order, repeats and restarts', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(pointArb, { minLength: 1, maxLength: 60 }),
      fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      async (drawn, cuts, repeats, inOrder, restarts) => {
        const points = drawn.map(pointOf);
        const { store } = await storeWithClusters();
        try {
          // In order (as senders export: the fast way) or shuffled (the SQL way), and mixes of both.
          const batches = inOrder ? batchesInOrder(points, cuts) : batchesOf(points, cuts);
          let writer = await DuckDbPointWriter.open(store.duckdb);
          for (const [i, batch] of batches.entries()) {
            await writer.write(batch, { kind: 'all' });
            // A restart: the next writer knows the series' heads from the store alone.
            if (restarts[i % restarts.length]) writer = await DuckDbPointWriter.open(store.duckdb);
          }
          // Retried requests: some batches again, latest first.
          for (const batch of batches.slice(0, repeats).reverse()) await writer.write(batch, { kind: 'all' });
          assert.deepEqual(await rawRows(store), oracle(deriveRawRows(points)));
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: propertyRuns(100), seed: 2201 },
  );
});

/** Cuts the points, sorted by time, into consecutive batches. */
function batchesInOrder(points: IngestPoint[], cuts: number[]): IngestPoint[][] {
  const sorted = [...points].sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  return batchesOf(sorted, cuts, false);
}

/** Cuts the points into batches at the given positions (mod the length), in a shuffled order unless `shuffle` is false. */
function batchesOf(points: IngestPoint[], cuts: number[], shuffle = true): IngestPoint[][] {
  const order = points.map((p, i) => ({ p, k: shuffle ? (i * 7919 + (cuts[0] ?? 0)) % 1009 : i })).sort((a, b) => a.k - b.k);
  const at = [...new Set(cuts.map((c) => c % points.length))].sort((a, b) => a - b);
  const batches: IngestPoint[][] = [];
  let from = 0;
  for (const cut of [...at, points.length]) {
    if (cut > from) batches.push(order.slice(from, cut).map((o) => o.p));
    from = Math.max(from, cut);
  }
  return batches;
}

test('cumulative counters become per-minute deltas, with resets, late points and a retried request', async () => {
  const { store, writer } = await storeWithClusters();
  const s = { resourceId: 'lkc-a', metric: `${M}received_bytes`, labels: { topic: 'orders' }, temporality: 'cumulative' as const };
  const at = (minute: number, second: number): bigint => T0 - (T0 % 60_000_000_000n) + BigInt(minute * 60 + second) * 1_000_000_000n;
  const start = at(0, 0);
  const restart = at(3, 30);
  const point = (startNs: bigint, timeNs: bigint, value: number): IngestPoint => ({ ...s, startNs, timeNs, value });
  // Minute 0: 100 since start; minute 1: +50; minute 2 arrives late (after minute 3); minute 3: a lower value (reset) then a restart.
  await writer.write([point(start, at(0, 10), 100), point(start, at(1, 10), 150)], { kind: 'all' });
  await writer.write([point(start, at(3, 10), 20), point(restart, at(3, 40), 5)], { kind: 'all' });
  await writer.write([point(start, at(2, 10), 190)], { kind: 'all' }); // late: minute 2 is +40, minute 3's reset is still 20
  const again = await writer.write([point(start, at(2, 10), 190), point(start, at(1, 10), 150)], { kind: 'all' });
  assert.equal(again.accepted, 2, 'a retried request is accepted, and changes nothing');
  const values = (await store.read(`SELECT value FROM telemetry_raw ORDER BY __time`, [])).map((r) => r['value']);
  assert.deepEqual(values, [100, 50, 40, 25]);
  await store.close();
});

test('a scope writes only the clusters the registry gives it; the tenant of a row is the registry’s', async () => {
  const { store, writer } = await storeWithClusters();
  const p = (resourceId: string): IngestPoint => ({
    resourceId,
    metric: `${M}partition_count`,
    labels: {},
    temporality: 'gauge',
    startNs: 0n,
    timeNs: T0,
    value: 3,
  });
  const result = await writer.write([p('lkc-a'), p('lkc-b'), p('lkc-none'), p('lkc-b')], { kind: 'tenant', tenantId: 't-1' });
  assert.deepEqual(result, { accepted: 1, refused: 3, refusedClusters: ['lkc-b', 'lkc-none'] });
  const rows = await store.read('SELECT tenant_id, resource_id FROM telemetry_raw', []);
  assert.deepEqual(rows, [{ tenant_id: 't-1', resource_id: 'lkc-a' }]);
  assert.equal((await store.read('SELECT count(*) AS n FROM ingest_points', []))[0]?.['n'], 1n, 'refused points are not stored either');
  assert.equal((await store.read('SELECT count(*) AS n FROM ingest_series', []))[0]?.['n'], 1n, 'nor their series');
  const all = await writer.write([p('lkc-b'), p('lkc-none')], { kind: 'all' });
  assert.deepEqual(
    all,
    { accepted: 1, refused: 1, refusedClusters: ['lkc-none'] },
    'a collector writes every registered cluster, and only those',
  );
  assert.deepEqual(await store.read(`SELECT tenant_id FROM telemetry_raw WHERE resource_id = 'lkc-b'`, []), [{ tenant_id: 't-2' }]);
  await store.close();
});

test('a group commit: each write gets its own result, and one write’s refused points touch no other write', async () => {
  const { store, writer } = await storeWithClusters();
  const p = (resourceId: string, minute: number, value: number): IngestPoint => ({
    resourceId,
    metric: `${M}received_bytes`,
    labels: { topic: 'orders' },
    temporality: 'cumulative',
    startNs: T0,
    timeNs: T0 + BigInt(minute * 60 + 1) * 1_000_000_000n,
    value,
  });
  const hostile = [p('lkc-a', 1, 10), p('lkc-b', 1, 999_999), p('lkc-none', 1, 5)];
  const own = [p('lkc-b', 0, 40), p('lkc-b', 2, 100)];
  const collector = [p('lkc-a', 0, 4), p('lkc-a', 1, 10)];
  const results = await writer.writeGroup([
    { points: hostile, scope: { kind: 'tenant', tenantId: 't-1' } },
    { points: own, scope: { kind: 'tenant', tenantId: 't-2' } },
    { points: collector, scope: { kind: 'all' } },
  ]);
  assert.deepEqual(results, [
    { accepted: 1, refused: 2, refusedClusters: ['lkc-b', 'lkc-none'] },
    { accepted: 2, refused: 0, refusedClusters: [] },
    { accepted: 2, refused: 0, refusedClusters: [] },
  ]);
  const accepted = [hostile[0]!, ...own, ...collector];
  assert.deepEqual(await rawRows(store), oracle(deriveRawRows(accepted)), "t-1's write of lkc-b stored nothing");
  await store.close();
});

test("a tenant's series are bounded: points of new series past its limit are refused, its other series and other tenants write on", async () => {
  const store = await DuckDbStore.open(':memory:');
  await store.exec(`INSERT INTO resources VALUES ('t-1', 'lkc-a'), ('t-2', 'lkc-b')`, []);
  const writer = await DuckDbPointWriter.open(store.duckdb, { maxSeriesPerTenant: 2 });
  const p = (resourceId: string, topic: string, minute: number): IngestPoint => ({
    resourceId,
    metric: `${M}sent_bytes`,
    labels: { topic },
    temporality: 'delta',
    startNs: T0,
    timeNs: T0 + BigInt(minute * 60 + 1) * 1_000_000_000n,
    value: 1,
  });
  const flood = await writer.write([p('lkc-a', 'a', 0), p('lkc-a', 'b', 0), p('lkc-a', 'c', 0), p('lkc-a', 'd', 0), p('lkc-a', 'c', 1)], {
    kind: 'all',
  });
  assert.deepEqual(flood, { accepted: 2, refused: 0, refusedClusters: [], overSeriesLimit: { points: 3, limit: 2 } });
  const known = await writer.write([p('lkc-a', 'a', 1), p('lkc-a', 'b', 1)], { kind: 'tenant', tenantId: 't-1' });
  assert.deepEqual(known, { accepted: 2, refused: 0, refusedClusters: [] }, 'its stored series still take points');
  const other = await writer.write([p('lkc-b', 'a', 0), p('lkc-b', 'b', 0)], { kind: 'tenant', tenantId: 't-2' });
  assert.equal(other.accepted, 2, "another tenant's series are its own");
  const reopened = await DuckDbPointWriter.open(store.duckdb, { maxSeriesPerTenant: 2 });
  assert.equal((await reopened.write([p('lkc-a', 'e', 2)], { kind: 'all' })).overSeriesLimit?.points, 1, 'the count survives a restart');
  assert.deepEqual(
    (await store.read(`SELECT DISTINCT topic FROM telemetry_raw WHERE resource_id = 'lkc-a' ORDER BY 1`, [])).map((r) => r['topic']),
    ['a', 'b'],
  );
  await store.close();
});
