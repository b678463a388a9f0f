/**
 * node --import tsx bench/lib/bulk-write.ts SPEC_FILE
 * The limit of scenario 7: the bare store's own bulk write of the raw rows a
 * push derives to, in one process as the server is one. It opens a fresh
 * DuckDB file as the server opens its store (same tables, same resource
 * settings from the same environment), then appends the rows with DuckDB's
 * appender, one transaction per group-commit's worth of points, and prints
 * one JSON line: { rows, points, seconds } (the appends and commits only).
 */
import { readFileSync, rmSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { LABEL_COLUMNS } from '../../catalog/catalog.ts';
import { loadConfig } from '../../config/config.ts';
import { GROUP_POINTS } from '../../ingest/bounded-point-writer.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { clusterOf, INGEST_METRIC, MINUTE_MS, rateOf, type SeriesLayout, seriesCount, topicOf } from './otlp-bodies.ts';

export interface BulkWriteSpec {
  readonly file: string;
  readonly layout: SeriesLayout;
  /** Steps pushed (requests per shard); their minutes are the rows' minutes. */
  readonly steps: number;
  readonly prefix: string;
}

export interface BulkWriteResult {
  readonly rows: number;
  readonly points: number;
  readonly seconds: number;
}

/** The derived rows in the order the push sends their points: minute by minute, series by series. */
function* rows(spec: BulkWriteSpec): Generator<{ minuteMs: number; series: number; value: number }> {
  const { layout } = spec;
  const perMinute = MINUTE_MS / layout.stepMs;
  const minutes = Math.ceil(spec.steps / perMinute);
  for (let m = 0; m < minutes; m++) {
    // A last, partial minute holds the points of the steps that reached it.
    const points = Math.min(perMinute, spec.steps - m * perMinute);
    for (let i = 0; i < seriesCount(layout); i++) yield { minuteMs: layout.t0Ms + m * MINUTE_MS, series: i, value: points * rateOf(i) };
  }
}

/** Appends up to `limit` rows of `source` in one transaction; returns how many it took. */
async function appendBatch(
  connection: DuckDBConnection,
  spec: BulkWriteSpec,
  source: Iterator<{ minuteMs: number; series: number; value: number }>,
  limit: number,
): Promise<number> {
  const topicColumn = LABEL_COLUMNS.indexOf('topic');
  await connection.run('BEGIN TRANSACTION');
  const appender = await connection.createAppender('telemetry_raw');
  let n = 0;
  for (; n < limit; n++) {
    const next = source.next();
    if (next.done) break;
    const { minuteMs, series, value } = next.value;
    const cluster = clusterOf(spec.layout, series);
    appender.appendTimestamp(new DuckDBTimestampValue(BigInt(minuteMs) * 1000n));
    appender.appendVarchar(cluster.tenantId);
    appender.appendVarchar(cluster.id);
    appender.appendVarchar(INGEST_METRIC);
    for (let c = 0; c < LABEL_COLUMNS.length; c++) {
      if (c === topicColumn) appender.appendVarchar(topicOf(spec.prefix, series));
      else appender.appendNull();
    }
    appender.appendDouble(value);
    appender.endRow();
  }
  appender.closeSync();
  await connection.run('COMMIT');
  return n;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as BulkWriteSpec;
  for (const stale of [spec.file, `${spec.file}.wal`]) rmSync(stale, { force: true });
  const config = loadConfig(process.env, { STRATA_DB: spec.file, PORT: '0' });
  const store = await DuckDbStore.open(spec.file);
  await store.limitResources(config.duckdb);
  const connection = await store.duckdb.connect();
  // The server commits up to GROUP_POINTS points at once; so many points' rows make one transaction here.
  const perBatch = Math.max(1, Math.floor(GROUP_POINTS / (MINUTE_MS / spec.layout.stepMs)));
  const source = rows(spec);
  const started = performance.now();
  let total = 0;
  for (let n = perBatch; n === perBatch; ) {
    n = await appendBatch(connection, spec, source, perBatch);
    total += n;
  }
  const seconds = (performance.now() - started) / 1000;
  connection.closeSync();
  await store.close();
  const points = spec.steps * seriesCount(spec.layout);
  const result: BulkWriteResult = { rows: total, points, seconds };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
