import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LABEL_COLUMNS, type Catalog } from '../../catalog/catalog.ts';
import { ConfigError } from '../../config/config.ts';
import { SERIES_DDL } from './duckdb-point-sql.ts';
import { RAW_DDL, rollupDdl } from './duckdb-schema.ts';
import { quote } from './duckdb-sql.ts';
import { inTransaction } from './in-transaction.ts';

/**
 * A label added to the registry reaches a file written before it: the tables
 * are created with IF NOT EXISTS, so an existing file keeps its old columns.
 * On open, every table with label columns that lacks one of the registry's is
 * rebuilt in the layout a fresh file has: same columns, same order, rows
 * copied by name (the new label NULL), in their stored order, one transaction
 * for the whole file.
 *
 * Rebuilt rather than `ALTER TABLE ... ADD COLUMN`, which appends the column
 * after the last column: the write path appends and inserts by position
 * (point-appenders.ts into telemetry_raw and ingest_series, the rollup
 * builds' INSERT ... SELECT), so a migrated file must have exactly a fresh
 * file's column order. The cost is one copy of each table, once per label added.
 *
 * A stored label the registry no longer lists stops the open: its column
 * would no longer match the inserts, and dropping it would destroy data.
 */

interface LabelledTable {
  readonly table: string;
  readonly ddl: string;
  /**
   * Whose layout this module knows whole. The OTLP point tables have a
   * migration of their own (duckdb-point-migration.ts): a layout there that
   * differs by more than missing labels is left to it.
   */
  readonly owned: boolean;
}

const labelledTables = (catalog: Catalog): LabelledTable[] => [
  { table: 'telemetry_raw', ddl: RAW_DDL, owned: true },
  ...catalog.rollups.map((r) => ({ table: r.name, ddl: rollupDdl(r.name), owned: true })),
  { table: 'ingest_series', ddl: SERIES_DDL, owned: false },
];

/** The label columns a stored table gains (none: it is current, or not this module's to change). */
type Change = { readonly table: LabelledTable; readonly added: readonly string[] };

/**
 * Brings every labelled table of the file to the registry's label columns;
 * returns what it changed (table and labels added), for the start-up log.
 */
export async function migrateLabels(instance: DuckDBInstance, catalog: Catalog): Promise<{ table: string; added: string[] }[]> {
  const tables = labelledTables(catalog);
  const connection = await instance.connect();
  try {
    const home = String((await connection.runAndReadAll('SELECT current_database() AS db')).getRowObjectsJS()[0]?.['db']);
    const stored = await columnsOf(connection, home, tables);
    // A new file (or memory): the DDL creates every table as it is now.
    if (stored.size === 0) return [];
    const fresh = await freshColumns(connection, home, tables);
    const changes = tables.flatMap((t) => changeOf(t, stored.get(t.table) ?? [], fresh.get(t.table) ?? []) ?? []);
    if (changes.length === 0) return [];
    await rebuild(connection, changes);
    return changes.map((c) => ({ table: c.table.table, added: [...c.added] }));
  } finally {
    connection.closeSync();
  }
}

/** What the table needs, or undefined if nothing (or nothing this module may do); throws on a label the registry dropped. */
function changeOf(table: LabelledTable, stored: readonly string[], fresh: readonly string[]): Change | undefined {
  if (stored.length === 0 || sameList(stored, fresh)) return undefined;
  const extra = stored.filter((c) => !fresh.includes(c));
  const missing = fresh.filter((c) => !stored.includes(c));
  const onlyLabels = missing.every((c) => LABEL_COLUMNS.includes(c));
  if (extra.length > 0 && table.owned) {
    throw new ConfigError(
      `${table.table} has the label column(s) ${extra.map((c) => JSON.stringify(c)).join(', ')}, which the metric registry no longer lists. ` +
        'A stored label column is never dropped: add each to the registry\'s "labels" (STRATA_METRICS_FILE) and start again.',
    );
  }
  if (extra.length > 0 || !onlyLabels) return undefined;
  return { table, added: missing };
}

/** In one transaction: each table renamed aside, created anew by its DDL, refilled by column name, the old one dropped. */
async function rebuild(connection: DuckDBConnection, changes: readonly Change[]): Promise<void> {
  await inTransaction(connection, async () => {
    for (const { table } of changes) {
      const aside = `${table.table}__before_labels`;
      await connection.run(`ALTER TABLE ${quote(table.table)} RENAME TO ${quote(aside)}`);
      await connection.run(table.ddl);
      await connection.run(`INSERT INTO ${quote(table.table)} BY NAME SELECT * FROM ${quote(aside)}`);
      await connection.run(`DROP TABLE ${quote(aside)}`);
    }
  });
  // The copies are in the WAL: fold them into the file now rather than at the first write's checkpoint.
  await connection.run('CHECKPOINT');
}

/**
 * The columns each table has in a fresh file: its DDL run in a scratch
 * in-memory database attached for the purpose (the DDL names no database, so
 * `USE` sends it there), never in the file.
 */
async function freshColumns(connection: DuckDBConnection, home: string, tables: readonly LabelledTable[]): Promise<Map<string, string[]>> {
  await connection.run(`ATTACH ':memory:' AS ${SCRATCH}`);
  try {
    await connection.run(`USE ${SCRATCH}`);
    for (const { ddl } of tables) await connection.run(ddl);
    return await columnsOf(connection, SCRATCH, tables);
  } finally {
    await connection.run(`USE ${quote(home)}`);
    await connection.run(`DETACH ${SCRATCH}`);
  }
}

const SCRATCH = 'strata_fresh_layout';

/** Each of the tables that exists in `database`, with its columns in order (one catalog scan for all). */
async function columnsOf(connection: DuckDBConnection, database: string, tables: readonly LabelledTable[]): Promise<Map<string, string[]>> {
  const names = tables.map((t) => t.table);
  const reader = await connection.runAndReadAll(
    `SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main'
       AND table_name IN (${names.map(() => '?').join(', ')}) ORDER BY table_name, column_index`,
    [database, ...names],
  );
  const out = new Map<string, string[]>();
  for (const row of reader.getRowObjectsJS()) {
    const table = String(row['table_name']);
    out.set(table, [...(out.get(table) ?? []), String(row['column_name'])]);
  }
  return out;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((c, i) => c === b[i]);
