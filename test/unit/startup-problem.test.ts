import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startupProblem } from '../../api/startup-problem.ts';
import { ConfigError, loadConfig } from '../../config/config.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';

/**
 * A start that runs out of DuckDB memory while it aggregates says which
 * variable to raise (api/main.ts), from DuckDB's own error: an in-memory store
 * held to 16 MB (the lowest STRATA_DUCKDB_MEMORY_MB) building a list it cannot spill.
 */
test('DuckDB out of memory at start-up names STRATA_DUCKDB_MEMORY_MB and the fix', async () => {
  const store = await DuckDbStore.open(':memory:');
  try {
    await store.limitResources({ memoryBytes: 16 * 1024 * 1024 });
    const error = await store.read('SELECT list(range) AS l FROM range(20000000)', []).then(
      () => assert.fail('the list fits in 16 MB'),
      (e: unknown) => e,
    );
    const config = loadConfig({ STRATA_DUCKDB_MEMORY_MB: '16', STRATA_DB: 'data/x.duckdb' });
    const problem = startupProblem(config, error);
    assert.ok(problem instanceof ConfigError, String(problem));
    assert.match(
      problem.message,
      /^STRATA_DUCKDB_MEMORY_MB=16 is too little to aggregate data\/x\.duckdb at start-up \(DuckDB: failed to allocate .+\)\. Raise STRATA_DUCKDB_MEMORY_MB \(default 128\)/,
    );
    assert.doesNotMatch(problem.message, /SET memory_limit|Possible solutions/);
    // To a client the same error is the store's, retryable, and DuckDB's words stay in the log.
    assert.ok(error instanceof StrataError, String(error));
    assert.equal(error.code, ErrorCode.UPSTREAM_UNAVAILABLE);
    assert.match(error.message, /STRATA_DUCKDB_MEMORY_MB, shared by all queries/);
    assert.match(String((error as Error).cause), /Out of Memory Error/);
  } finally {
    await store.close();
  }
});

test('other start-up errors pass through unchanged', () => {
  const other = new Error('Catalog Error: Table with name telemetry_raw does not exist!');
  assert.equal(startupProblem(loadConfig({}), other), other);
  const druid = loadConfig({ STRATA_STORE: 'druid', DRUID_URL: 'http://127.0.0.1:8082' });
  const oom = new Error('Out of Memory Error: failed to allocate');
  assert.equal(startupProblem(druid, oom), oom);
});
