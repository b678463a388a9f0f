import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { LRUCache } from 'lru-cache';

/**
 * Read connections kept open, each with the statements it has prepared.
 * Dashboards send the same few statement shapes again and again with other
 * values; parsing and planning one again was 1–1.5 ms of a 7 ms read. Each
 * read still has a connection to itself while it runs (concurrent reads run
 * in parallel, and an interrupt stops exactly one), and at most `maxIdle`
 * stay open between reads.
 */
export class ReadConnections {
  private readonly idle: PreparedConnection[] = [];
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private maxIdle = 4,
    private readonly statementsPerConnection = 64,
  ) {}

  /**
   * How many connections stay open between reads. Node's thread pool runs
   * DuckDB's queries, so more reads than its size never run at once; a
   * connection beyond that would keep its statements for nothing.
   */
  keepIdle(count: number): void {
    this.maxIdle = Math.max(1, Math.floor(count));
    for (const connection of this.idle.splice(this.maxIdle)) connection.close();
  }

  async acquire(): Promise<PreparedConnection> {
    return this.idle.pop() ?? new PreparedConnection(await this.instance.connect(), this.statementsPerConnection);
  }

  /** A connection whose read failed or was interrupted is closed, never reused. */
  release(connection: PreparedConnection, healthy: boolean): void {
    if (healthy && !this.closed && this.idle.length < this.maxIdle) this.idle.push(connection);
    else connection.close();
  }

  /** Connections open between reads (for tests and stats). */
  get idleCount(): number {
    return this.idle.length;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.close();
  }
}

export class PreparedConnection {
  private readonly statements: LRUCache<string, DuckDBPreparedStatement>;

  constructor(
    readonly connection: DuckDBConnection,
    maxStatements: number,
  ) {
    this.statements = new LRUCache<string, DuckDBPreparedStatement>({ max: maxStatements, dispose: (statement) => statement.destroySync() });
  }

  /** The statement for `sql`, prepared on first use. */
  async prepared(sql: string): Promise<DuckDBPreparedStatement> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = await this.connection.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.connection.closeSync();
  }
}
