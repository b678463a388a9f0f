import { ConfigError, DUCKDB_MEMORY_MB_DEFAULT, type Config } from '../config/config.ts';

/**
 * What stops a start, said for the operator. DuckDB out of memory while the
 * embedded store catches its rollups up means STRATA_DUCKDB_MEMORY_MB is too
 * small for the data (the bench's data set needs more than 16 MB): name the
 * variable and the fix instead of DuckDB's own advice about `SET memory_limit`,
 * which a Strata operator cannot type. Any other error passes through as it is.
 */
export function startupProblem(config: Config, error: unknown): unknown {
  // The store may wrap DuckDB's error (a refusal for clients) with it as the cause.
  const duckdb = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = duckdb instanceof Error ? duckdb.message : String(duckdb);
  if (config.store.kind !== 'duckdb' || !message.includes('Out of Memory Error')) return error;
  const mb = Math.round(config.duckdb.memoryBytes / 1024 / 1024);
  const cause = message.split('\n')[0]?.replace(/^.*?Out of Memory Error: /, '') ?? '';
  return new ConfigError(
    `STRATA_DUCKDB_MEMORY_MB=${mb} is too little to aggregate ${config.dbPath} at start-up (DuckDB: ${cause}). ` +
      `Raise STRATA_DUCKDB_MEMORY_MB (default ${DUCKDB_MEMORY_MB_DEFAULT}) and start again.`,
  );
}
