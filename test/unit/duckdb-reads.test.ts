import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isStrataError } from '../../api/errors.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';

/**
 * Reads reuse their connections and prepared statements (store/duckdb/read-connections.ts):
 * a kept statement answers for the values bound now, a failed or interrupted read never
 * leaves a connection behind that answers the next one wrongly.
 */
let store: DuckDbStore;

before(async () => {
  store = await DuckDbStore.open(':memory:');
});
after(async () => store.close());

const codeOf = (error: unknown): string | undefined => (isStrataError(error) ? error.code : undefined);

test('a kept statement answers for the values bound on each read, in any order and at once', async () => {
  const sql = 'SELECT CAST(? AS BIGINT) * 2 AS doubled, ? AS label';
  for (const n of [1, 2, 3, 2, 1]) {
    assert.deepEqual(await store.read(sql, [n, `n${n}`]), [{ doubled: BigInt(n * 2), label: `n${n}` }]);
  }
  const many = await Promise.all(Array.from({ length: 12 }, (_, n) => store.read(sql, [n, `n${n}`])));
  assert.deepEqual(
    many.map((rows) => rows[0]?.['label']),
    Array.from({ length: 12 }, (_, n) => `n${n}`),
  );
});

test('a read that fails, or is cancelled, leaves the next reads unharmed', async () => {
  await assert.rejects(store.read('SELECT * FROM no_such_table', []), /no_such_table/);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(store.read('SELECT 1 AS one', [], aborted.signal), (e) => codeOf(e) === 'UPSTREAM_TIMEOUT');

  // A long read interrupted while it runs.
  const running = new AbortController();
  const long = store.read('SELECT count(*) AS n FROM range(100000000) a, range(1000) b WHERE a.range + b.range = -1', [], running.signal);
  setTimeout(() => running.abort(), 50);
  await assert.rejects(long, (e) => codeOf(e) === 'UPSTREAM_TIMEOUT');

  assert.deepEqual(await store.read('SELECT 1 AS one', []), [{ one: 1 }]);
  assert.deepEqual(await store.read('SELECT CAST(? AS BIGINT) * 2 AS doubled, ? AS label', [21, 'x']), [{ doubled: 42n, label: 'x' }]);
});

test('data written after a statement was kept is what the statement reads', async () => {
  await store.exec('CREATE TABLE kept_reads (k VARCHAR, v INTEGER)', []);
  const sql = 'SELECT CAST(count(*) AS INTEGER) AS n FROM kept_reads WHERE k = ?';
  assert.deepEqual(await store.read(sql, ['a']), [{ n: 0 }]);
  await store.exec("INSERT INTO kept_reads VALUES ('a', 1), ('a', 2), ('b', 3)", []);
  assert.deepEqual(await store.read(sql, ['a']), [{ n: 2 }]);
  assert.deepEqual(await store.read(sql, ['b']), [{ n: 1 }]);
});
