import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HOUR_MS } from '../../catalog/catalog.ts';
import { alignDown } from '../../planner/interval.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seedStore } from '../../store/duckdb/seed-file.ts';

/**
 * A rebuilt rollup is folded from the write-ahead log into the file at once
 * (DuckDbStore.buildRollup): DuckDB would otherwise keep the rebuilt rows in
 * memory until 16 MB of WAL had piled up. A checkpoint refused because another
 * write is running never fails the rebuild.
 */
const dir = mkdtempSync(join(tmpdir(), 'strata-checkpoint-'));
const path = join(dir, 'store.duckdb');
let store: DuckDbStore;
let hour: number;

before(async () => {
  store = await DuckDbStore.open(path);
  await seedStore(store, { seed: 3, tenants: 2, clusters: 1, topics: 2, partitions: 1, days: 1, end: alignDown(Date.now(), HOUR_MS) });
  hour = alignDown(Date.now(), HOUR_MS) - 5 * HOUR_MS;
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const walBytes = (): number => (existsSync(`${path}.wal`) ? statSync(`${path}.wal`).size : 0);
const inMemoryTableBytes = async (): Promise<number> =>
  Number(
    (
      await store.read(
        "SELECT CAST(coalesce(sum(memory_usage_bytes), 0) AS DOUBLE) AS b FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'",
        [],
      )
    )[0]?.['b'],
  );
const hourSum = async (): Promise<number> =>
  Number(
    (
      await store.read(
        "SELECT CAST(sum(v_sum) AS DOUBLE) AS s FROM rollup_1h WHERE __time = epoch_ms(CAST(? AS BIGINT)) AND metric LIKE '%received_bytes' AND level = ''",
        [hour],
      )
    )[0]?.['s'],
  );

async function lateRow(value: number): Promise<void> {
  const [resource] = await store.read('SELECT tenant_id, resource_id FROM resources ORDER BY resource_id LIMIT 1', []);
  await store.exec(
    "INSERT INTO telemetry_raw VALUES (epoch_ms(CAST(? AS BIGINT)), ?, ?, 'io.confluent.kafka.server/received_bytes', 'late', NULL, NULL, NULL, NULL, ?)",
    [hour + 60_000, String(resource?.['tenant_id']), String(resource?.['resource_id']), value],
  );
}

test('a rebuilt rollup lands in the file: no WAL and no in-memory table rows are left behind', async () => {
  const before = store.checkpointStats.done;
  const sumBefore = await hourSum();
  await lateRow(1000);
  await store.buildRollup('rollup_1h', { start: hour, end: hour + HOUR_MS });
  assert.equal(store.checkpointStats.done, before + 1);
  assert.equal(walBytes(), 0, 'the WAL was folded into the file');
  assert.equal(await inMemoryTableBytes(), 0, 'DuckDB keeps no rebuilt rows in memory');
  assert.equal(await hourSum(), sumBefore + 1000, 'the rebuilt hour holds the late row');
});

test('rebuilds of other hours at once all land; the checkpoints refused while another was writing fail none of them', async () => {
  const sumBefore = await hourSum();
  const { done, skipped } = store.checkpointStats;
  await lateRow(5);
  const hours = [0, 2, 4, 6, 8, 10].map((n) => hour - n * HOUR_MS);
  await Promise.all(hours.map((start) => store.buildRollup('rollup_1h', { start, end: start + HOUR_MS })));
  const after = store.checkpointStats;
  assert.equal(after.done + after.skipped, done + skipped + 6, 'each rebuild tried once');
  assert.ok(after.skipped > skipped, 'six writers at once: some checkpoints were refused');
  assert.equal(await hourSum(), sumBefore + 5, 'every rebuild committed');
  await store.buildRollup('rollup_1h', { start: hour, end: hour + HOUR_MS });
  assert.equal(walBytes(), 0, 'the next rebuild folded the WAL');
});

test('closing a store folds what other writes left in the log into the file', async () => {
  const other = join(dir, 'closed.duckdb');
  const closing = await DuckDbStore.open(other);
  await closing.exec('CREATE TABLE notes (n INTEGER)', []);
  await closing.exec('INSERT INTO notes VALUES (1), (2)', []);
  assert.ok(existsSync(`${other}.wal`) && statSync(`${other}.wal`).size > 0, 'the writes are in the log');
  await closing.close();
  assert.equal(existsSync(`${other}.wal`), false, 'close checkpointed');
  const reopened = await DuckDbStore.open(other);
  assert.deepEqual(await reopened.read('SELECT CAST(sum(n) AS INTEGER) AS s FROM notes', []), [{ s: 3 }]);
  await reopened.close();
});
