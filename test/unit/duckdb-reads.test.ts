import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { isStrataError } from '../../errors/strata-error.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { ReadConnections } from '../../store/duckdb/read-connections.ts';
import { seedStore } from '../../store/duckdb/seed-file.ts';
import { dashboardDocument } from '../helpers/documents.ts';
import { execute, principal, SMALL, testApp } from '../helpers/fixture.ts';

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

test('the resource limits reach DuckDB: memory limit and worker threads', async () => {
  const limited = await DuckDbStore.open(':memory:');
  try {
    await limited.limitResources({ memoryBytes: 48 * 1024 * 1024, threads: 1 });
    const [row] = await limited.read(
      "SELECT current_setting('memory_limit') AS memory, CAST(current_setting('threads') AS INTEGER) AS threads",
      [],
    );
    assert.match(String(row?.['memory']), /^4[5-9](\.\d+)? ?MiB$|^50(\.\d+)? ?MB$/);
    assert.equal(row?.['threads'], 1);
  } finally {
    await limited.close();
  }
});

test('at most `atOnce` reads hold a connection: the others wait in line, and keep the connections and their statements', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const reads = new ReadConnections(instance, 3);
  const sql = 'SELECT CAST(? AS INTEGER) + 1 AS n';
  const read = (n: number, signal?: AbortSignal): Promise<unknown> =>
    reads.use(async (c) => {
      const statement = await c.prepared(sql);
      statement.bind([n]);
      return (await statement.runAndReadAll()).getRowObjectsJS()[0]?.['n'];
    }, signal);
  try {
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5, 6].map((n) => read(n))), [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(reads.stats, { idle: 3, opened: 3, waiting: 0, statements: { held: 3, prepared: 3 } });
    reads.limit(1);
    assert.equal(reads.stats.idle, 1, 'connections beyond the bound are closed at once');
    const many = Promise.all(Array.from({ length: 20 }, (_, n) => read(n)));
    assert.equal(reads.stats.waiting, 19, 'one read runs, the others wait');
    assert.deepEqual(
      await many,
      Array.from({ length: 20 }, (_, n) => n + 1),
    );
    assert.deepEqual(
      reads.stats,
      { idle: 1, opened: 3, waiting: 0, statements: { held: 1, prepared: 3 } },
      'twenty reads, no connection opened, no statement prepared again',
    );

    // A read cancelled while it waits leaves the line without running.
    let ran = false;
    const first = reads.use(async () => new Promise((r) => setTimeout(r, 50)));
    const cancelled = new AbortController();
    const waiting = reads.use(async () => (ran = true), cancelled.signal);
    cancelled.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
    await first;
    assert.equal(ran, false);
    assert.equal(await read(41), 42);
  } finally {
    reads.close();
    instance.closeSync();
  }
});

test('a store read cancelled while it waits for a connection fails as a timeout, and the line goes on', async () => {
  const limited = await DuckDbStore.open(':memory:');
  try {
    await limited.limitResources({ memoryBytes: 64 * 1024 * 1024, readsAtOnce: 1 });
    const running = new AbortController();
    const long = limited.read(
      'SELECT count(*) AS n FROM range(100000000) a, range(1000) b WHERE a.range + b.range = -1',
      [],
      running.signal,
    );
    const waiting = new AbortController();
    const queued = limited.read('SELECT 1 AS one', [], waiting.signal);
    waiting.abort();
    await assert.rejects(queued, (e) => codeOf(e) === 'UPSTREAM_TIMEOUT');
    setTimeout(() => running.abort(), 50);
    await assert.rejects(long, (e) => codeOf(e) === 'UPSTREAM_TIMEOUT');
    // Aborted at once, while its connection is taken and its statement prepared: it never runs.
    const early = new AbortController();
    const never = limited.read(
      'SELECT count(*) AS n FROM range(100000000) a, range(1000) b WHERE a.range + b.range = -2',
      [],
      early.signal,
    );
    early.abort();
    await assert.rejects(never, (e) => codeOf(e) === 'UPSTREAM_TIMEOUT');
    assert.deepEqual(await limited.read('SELECT 1 AS one', []), [{ one: 1 }]);
  } finally {
    await limited.close();
  }
});

test('data written after a statement was kept is what the statement reads', async () => {
  await store.exec('CREATE TABLE kept_reads (k VARCHAR, v INTEGER)', []);
  const sql = 'SELECT CAST(count(*) AS INTEGER) AS n FROM kept_reads WHERE k = ?';
  assert.deepEqual(await store.read(sql, ['a']), [{ n: 0 }]);
  await store.exec("INSERT INTO kept_reads VALUES ('a', 1), ('a', 2), ('b', 3)", []);
  assert.deepEqual(await store.read(sql, ['a']), [{ n: 2 }]);
  assert.deepEqual(await store.read(sql, ['b']), [{ n: 1 }]);
});

/**
 * Each chunk of a result is a 2,048-row native block that DuckDB's Node API frees only when V8
 * finalizes it, so a piece read must come back in full chunks: unsorted, a dashboard's branches
 * came back as dozens of nearly empty chunks (megabytes per read, held until the next full GC).
 */
test("a dashboard's piece reads come back in full chunks, not one per aggregate partition", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-chunks-'));
  const file = join(dir, 'chunks.duckdb');
  const reads: { sql: string; params: (string | number)[] }[] = [];
  try {
    const seeded = await DuckDbStore.open(file);
    await seedStore(seeded, SMALL);
    const app = await testApp(seeded);
    const [cluster] = app.services.resources.list(undefined);
    const readColumns = seeded.readColumns.bind(seeded);
    seeded.readColumns = async (sql, params, signal) => (reads.push({ sql, params }), readColumns(sql, params, signal));
    const answer = await execute(app, principal('customer', cluster?.tenantId), dashboardDocument(cluster?.resourceId ?? ''));
    assert.equal(answer.errors, undefined);
    await app.close();
    await seeded.close();
    const pieceReads = reads.filter((r) => r.sql.includes('UNION ALL'));
    assert.ok(pieceReads.length > 0, 'the dashboard read pieces from the store');

    const instance = await DuckDBInstance.create(file);
    const connection = await instance.connect();
    let unsortedChunks = 0;
    for (const { sql, params } of pieceReads) {
      const result = await connection.run(sql, params);
      assert.equal(
        result.chunkCount,
        Math.max(1, Math.ceil(result.rowCount / 2048)),
        `${result.rowCount} rows in ${result.chunkCount} chunks`,
      );
      // The same branches without the outer ORDER BY: what the test guards against.
      const inner = sql.slice(sql.indexOf('(') + 1, sql.lastIndexOf(')'));
      unsortedChunks += (await connection.run(inner, params)).chunkCount;
    }
    assert.ok(unsortedChunks > 2 * pieceReads.length, `unsorted, the same reads came back in ${unsortedChunks} chunks`);
    connection.closeSync();
    instance.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
