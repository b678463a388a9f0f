import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { LRUCache } from 'lru-cache';
import PQueue from 'p-queue';

/**
 * Read connections, each with the statements it has prepared. Dashboards send
 * the same few statement shapes again and again with other values; parsing
 * and planning one again was 1–1.5 ms of a 7 ms read. Each read has a
 * connection to itself while it runs (concurrent reads run in parallel, and
 * an interrupt stops exactly one).
 *
 * At most `atOnce` reads hold a connection; the others wait in line. DuckDB
 * runs each query on Node's thread pool, so more never run at once anyway,
 * and a read that took a connection of its own beyond that bound used to get
 * a new one, prepare its statement again and close it: 811 connections and
 * 1,201 prepares for 35 statement shapes in 300 s of the soak.
 */
export class ReadConnections {
  private readonly idle: PreparedConnection[] = [];
  private readonly line: PQueue;
  private opened = 0;
  private closed = false;
  /** Statements prepared on every connection, ever (a statement evicted and needed again counts again). */
  private prepares = 0;

  constructor(
    private readonly instance: DuckDBInstance,
    atOnce = 4,
    private readonly statementsPerConnection = 64,
  ) {
    this.line = new PQueue({ concurrency: atOnce });
  }

  /** How many reads hold a connection at once (Node's thread pool size runs no more). */
  limit(atOnce: number): void {
    this.line.concurrency = Math.max(1, Math.floor(atOnce));
    for (const connection of this.idle.splice(this.line.concurrency)) connection.close();
  }

  /**
   * Runs `work` on a connection of its own once fewer than `atOnce` reads
   * hold one. An abort while waiting leaves the line at once (rejecting with
   * the signal's reason); an abort while running is the work's to handle, and
   * its connection, interrupted, is then closed rather than kept.
   */
  async use<T>(work: (connection: PreparedConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.line.add(
      async () => {
        const connection = this.idle.pop() ?? (await this.open());
        let healthy = false;
        try {
          const result = await work(connection);
          healthy = !signal?.aborted;
          return result;
        } finally {
          this.release(connection, healthy);
        }
      },
      signal ? { signal } : {},
    );
  }

  private async open(): Promise<PreparedConnection> {
    this.opened += 1;
    return new PreparedConnection(await this.instance.connect(), this.statementsPerConnection, () => (this.prepares += 1));
  }

  /** A connection whose read failed or was interrupted is closed, never reused. */
  private release(connection: PreparedConnection, healthy: boolean): void {
    if (healthy && !this.closed && this.idle.length < this.line.concurrency) this.idle.push(connection);
    else connection.close();
  }

  /**
   * Connections open between reads, ever opened, reads waiting for one, and
   * statements: held by the idle connections, and ever prepared (for tests and stats).
   */
  get stats(): ReadStats {
    const held = this.idle.reduce((n, c) => n + c.held, 0);
    return { idle: this.idle.length, opened: this.opened, waiting: this.line.size, statements: { held, prepared: this.prepares } };
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.close();
  }
}

export interface ReadStats {
  readonly idle: number;
  readonly opened: number;
  readonly waiting: number;
  readonly statements: { readonly held: number; readonly prepared: number };
}

export class PreparedConnection {
  private readonly statements: LRUCache<string, DuckDBPreparedStatement>;

  constructor(
    readonly connection: DuckDBConnection,
    maxStatements: number,
    private readonly onPrepare: () => void,
  ) {
    this.statements = new LRUCache<string, DuckDBPreparedStatement>({
      max: maxStatements,
      dispose: (statement) => statement.destroySync(),
    });
  }

  /** The statement for `sql`, prepared on first use. */
  async prepared(sql: string): Promise<DuckDBPreparedStatement> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = await this.connection.prepare(sql);
      this.onPrepare();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Statements kept prepared now. */
  get held(): number {
    return this.statements.size;
  }

  close(): void {
    this.statements.clear();
    this.connection.closeSync();
  }
}
