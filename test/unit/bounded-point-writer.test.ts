import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceAggregator } from '../../aggregator/reference-aggregator.ts';
import { ErrorCode, isStrataError } from '../../errors/strata-error.ts';
import { MemoryBus } from '../../events/memory-bus.ts';
import { BoundedPointWriter } from '../../ingest/bounded-point-writer.ts';
import type { IngestPoint } from '../../ingest/ingest-point.ts';
import type { GroupPointWriter, LateMinutes, WriteResult } from '../../ingest/point-writer.ts';
import type { MetricStore } from '../../store/metric-store.ts';

/** The write queue (ingest/bounded-point-writer.ts): its bounds, each caller's share, group commits, and builds that no write overlaps. */

/** A write queue of 1,000 points over a writer that holds every write until `release`; `batch(n)` is n points. */
function heldQueue(): { writer: BoundedPointWriter; release: () => void; batch: (n: number) => IngestPoint[] } {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const write = async (points: readonly IngestPoint[]): Promise<WriteResult> => (
    await held, { accepted: points.length, refused: 0, refusedClusters: [] }
  );
  const slow: GroupPointWriter & LateMinutes = {
    write,
    writeGroup: (writes) => Promise.all(writes.map((w) => write(w.points))),
    takeLateMinutes: async () => [],
    putBackLateMinutes: async () => undefined,
  };
  const point = { resourceId: 'c', metric: 'm', labels: {}, temporality: 'gauge' as const, startNs: 0n, timeNs: 1n, value: 1 };
  return { writer: new BoundedPointWriter(slow, 1000), release: () => release(), batch: (n) => new Array<IngestPoint>(n).fill(point) };
}

test('the write queue holds a bounded number of points: past it, OVERLOADED with a retry delay', async () => {
  const { writer, release, batch } = heldQueue();
  const first = writer.write(batch(600), { kind: 'all' });
  const refusal = await writer.write(batch(600), { kind: 'all' }).catch((e: unknown) => e);
  assert.ok(isStrataError(refusal) && refusal.code === ErrorCode.OVERLOADED && refusal.details['retryAfterSeconds'] === 1);
  const tooBig = await writer.write(batch(1001), { kind: 'all' }).catch((e: unknown) => e);
  assert.ok(isStrataError(tooBig) && tooBig.code === ErrorCode.PAYLOAD_TOO_LARGE);
  assert.equal(writer.pending, 600);
  release();
  assert.equal((await first).accepted, 600);
  assert.equal(writer.pending, 0);
});

test("one caller stacks writes only within its share of the queue (a quarter): another caller's still wait", async () => {
  const { writer, release, batch } = heldQueue();
  const hostile = { kind: 'tenant', tenantId: 't-1' } as const;
  const other = { kind: 'tenant', tenantId: 't-2' } as const;
  const writes = [writer.write(batch(200), hostile, 't:t-1'), writer.write(batch(50), hostile, 't:t-1')];
  const refusal = await writer.write(batch(10), hostile, 't:t-1').catch((e: unknown) => e);
  assert.ok(isStrataError(refusal) && refusal.code === ErrorCode.OVERLOADED, 'past its share of 250');
  assert.match((refusal as Error).message, /hold 250 data points; 10 more would pass your share of 250/);
  writes.push(writer.write(batch(200), other, 't:t-2'));
  assert.equal(writer.pending, 450, "the other tenant's write waits");
  release();
  assert.deepEqual(
    (await Promise.all(writes)).map((w) => w.accepted),
    [200, 50, 200],
  );
  assert.equal(writer.pending, 0);
});

test('writes waiting go together in one transaction; a write that fails its group fails alone', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const groups: number[] = [];
  const inner: GroupPointWriter & LateMinutes = {
    write: async () => ({ accepted: 0, refused: 0, refusedClusters: [] }),
    writeGroup: async (writes) => {
      await held;
      groups.push(writes.length);
      if (writes.some((w) => w.points.some((p) => p.value < 0))) throw new Error('poisoned');
      return writes.map((w) => ({ accepted: w.points.length, refused: 0, refusedClusters: [] }));
    },
    takeLateMinutes: async () => [],
    putBackLateMinutes: async () => undefined,
  };
  const writer = new BoundedPointWriter(inner, 1000);
  const point = { resourceId: 'c', metric: 'm', labels: {}, temporality: 'gauge' as const, startNs: 0n, timeNs: 1n, value: 1 };
  const batch = (n: number, value = 1): IngestPoint[] => new Array<IngestPoint>(n).fill({ ...point, value });
  const first = writer.write(batch(1), { kind: 'all' }, 'a');
  const rest = [
    writer.write(batch(2), { kind: 'all' }, 'b'),
    writer.write(batch(1, -1), { kind: 'all' }, 'c'),
    writer.write(batch(3), { kind: 'all' }, 'd'),
  ];
  release();
  assert.equal((await first).accepted, 1);
  const settled = await Promise.allSettled(rest);
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value.accepted : 'failed')),
    [2, 'failed', 3],
  );
  assert.deepEqual(groups, [1, 3, 1, 1, 1], 'the three waiting went as one group, then each alone to find the failing one');
});

test('a rollup build runs while no write runs: a write waits for it, and the aggregator builds only so', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const order: string[] = [];
  const inner: GroupPointWriter & LateMinutes = {
    write: async () => ({ accepted: 0, refused: 0, refusedClusters: [] }),
    writeGroup: async (writes) => (
      order.push('write'), writes.map((w) => ({ accepted: w.points.length, refused: 0, refusedClusters: [] }))
    ),
    takeLateMinutes: async () => [],
    putBackLateMinutes: async () => undefined,
  };
  const writer = new BoundedPointWriter(inner, 1000);
  const point = { resourceId: 'c', metric: 'm', labels: {}, temporality: 'gauge' as const, startNs: 0n, timeNs: 1n, value: 1 };
  const build = writer.whileNoWrites(async () => {
    order.push('build starts');
    await held;
    order.push('build ends');
  });
  const write = writer.write([point], { kind: 'all' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  await Promise.all([build, write]);
  assert.deepEqual(order, ['build starts', 'build ends', 'write']);

  let inside = false;
  const builds: boolean[] = [];
  const store = {
    buildRollup: async () => (builds.push(inside), { tenants: [], metrics: [] }),
  } as unknown as MetricStore;
  const lateData = {
    takeLateMinutes: async () => [],
    putBackLateMinutes: async () => undefined,
    whileNoWrites: async <T>(work: () => Promise<T>): Promise<T> => {
      inside = true;
      try {
        return await work();
      } finally {
        inside = false;
      }
    },
  };
  const aggregator = new ReferenceAggregator(store, new MemoryBus(), () => 0, { latenessMs: 0, lateData });
  await aggregator.publish('rollup_1h', { start: 0, end: 3_600_000 });
  assert.deepEqual(builds, [true], 'the build ran while no write could');
});

test("the callers waiting take turns in a group commit: another tenant's write goes in the next group, not behind a flood", async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const groups: string[][] = [];
  const inner: GroupPointWriter & LateMinutes = {
    write: async () => ({ accepted: 0, refused: 0, refusedClusters: [] }),
    writeGroup: async (writes) => {
      await held;
      groups.push(writes.map((w) => `${w.points[0]?.resourceId}:${w.points.length}`));
      return writes.map((w) => ({ accepted: w.points.length, refused: 0, refusedClusters: [] }));
    },
    takeLateMinutes: async () => [],
    putBackLateMinutes: async () => undefined,
  };
  const writer = new BoundedPointWriter(inner, 200_000);
  const batch = (cluster: string, n: number): IngestPoint[] =>
    new Array<IngestPoint>(n).fill({
      resourceId: cluster,
      metric: 'm',
      labels: {},
      temporality: 'gauge',
      startNs: 0n,
      timeNs: 1n,
      value: 1,
    });
  const flood = [1, 2, 3, 4].map((i) => writer.write(batch(`a${i}`, 8_000), { kind: 'tenant', tenantId: 't-1' }, 't:t-1'));
  const other = writer.write(batch('b1', 10), { kind: 'tenant', tenantId: 't-2' }, 't:t-2');
  release();
  await Promise.all([...flood, other]);
  assert.deepEqual(
    groups,
    [['a1:8000'], ['a2:8000', 'b1:10', 'a3:8000'], ['a4:8000']],
    "t-2's write took the next group; t-1's kept their order",
  );
});
