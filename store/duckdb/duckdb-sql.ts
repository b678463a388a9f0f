import { GROUP_KEYS, levelId, type GroupKey } from '../../catalog/catalog.ts';
import type { Filter, TenantScope } from '../../planner/query.ts';
import { filterPredicate } from '../filter-sql.ts';
import { storedRowsAreBuckets, type Branch } from '../piece-batch.ts';

/** A parameterized SQL text: values never enter the text, only `?` placeholders. */
export interface SqlText {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** Identifiers come from the catalog only; quoting also guards reserved words such as "partition". */
export const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

export function tenantPredicate(scope: TenantScope, params: (string | number)[]): string {
  if (scope.kind === 'tenant') {
    params.push(scope.tenantId);
    return 'tenant_id = ?';
  }
  // The all-tenants scope is an explicit widening for internal and billing roles.
  return 'tenant_id IS NOT NULL';
}

export function filterSql(filter: Filter | undefined, params: (string | number)[]): string {
  return filterPredicate(filter, { quote, bind: (v) => params.push(v), alwaysTrue: 'TRUE' });
}

/**
 * The uniform output columns of every branch, so branches can be UNION ALLed:
 * the labels some branch groups by (`columns`), NULL where this one does not.
 */
function groupColumns(groupBy: readonly GroupKey[], columns: readonly GroupKey[]): string {
  return columns.map((k) => (groupBy.includes(k) ? `${quote(k)}, ` : `CAST(NULL AS VARCHAR) AS ${quote(k)}, `)).join('');
}

/**
 * Bucket starts and counts come back as DOUBLE, exact below 2^53 (ms timestamps,
 * sample counts): BIGINT and HUGEINT arrive as JS BigInts, and converting
 * thousands of them per answer cost more than the rest of the row.
 */
const BUCKET = 'CAST(floor(epoch_ms(__time) / ?) * ? AS DOUBLE)';

const TIME_RANGE = '__time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))';

/**
 * A branch's scan: its rows tagged with its index (and, for a rollup, its
 * answer bucket), filtered as it asks, which DuckDB pushes into the scan.
 */
function branchScan(branch: Branch, index: number, columns: readonly GroupKey[], select: string, params: (string | number)[]): string {
  const p = branch.sample;
  const rollup = p.source !== 'raw';
  if (rollup) params.push(p.bucketMs, p.bucketMs);
  const where: string[] = [tenantPredicate(p.scope, params), 'metric = ?'];
  params.push(p.metric);
  if (rollup) {
    where.push('level = ?');
    params.push(levelId(p.level ?? []));
  }
  params.push(branch.interval.start, branch.interval.end);
  where.push(TIME_RANGE, filterSql(p.filter, params));
  const head = `SELECT ${index} AS branch, ${rollup ? `${BUCKET} AS bucket, ` : ''}${groupColumns(p.groupBy, columns)}`;
  return `${head}${select} FROM ${rollup ? quote(p.source) : 'telemetry_raw'} WHERE ${where.join(' AND ')}`;
}

/** A rollup branch whose stored rows are its answer's rows: read as they are, with no aggregate. */
function directBranch(branch: Branch, index: number, columns: readonly GroupKey[], params: (string | number)[]): string {
  const p = branch.sample;
  const where: string[] = [tenantPredicate(p.scope, params), 'metric = ?', 'level = ?'];
  params.push(p.metric, levelId(p.level ?? []), branch.interval.start, branch.interval.end);
  where.push(TIME_RANGE, filterSql(p.filter, params));
  return `SELECT ${index} AS branch, CAST(epoch_ms(__time) AS DOUBLE) AS bucket, ${groupColumns(p.groupBy, columns)}
    v_sum, v_min, v_max, CAST(minutes AS DOUBLE) AS minutes, CAST(samples AS DOUBLE) AS samples FROM ${quote(p.source)} WHERE ${where.join(' AND ')}`;
}

const unionAll = (parts: readonly string[]): string => parts.map((s) => `(${s})`).join('\nUNION ALL\n');

/**
 * Every branch that aggregates shares two hash aggregates, keyed by branch:
 * raw rows are first summed per minute across the series of each group
 * (space), and those minutes, with the rollups' stored buckets, are then
 * aggregated within each answer bucket (time). A minute enters the second
 * step as a bucket of one minute (sum = min = max = its sum).
 *
 * The first form ran two aggregates per raw branch and one per rollup branch
 * (60 for a 38-branch dashboard read). On 837 reads of a soak's dashboard mix
 * this form took 38.9 ms a read against 47.9, with every answer identical; a
 * lone raw branch costs about 5 % more (the branch key), which is why the
 * bucket width is applied after the per-minute step rather than hashed in it.
 */
function aggregatedBranches(
  branches: readonly [Branch, number][],
  columns: readonly GroupKey[],
  params: (string | number)[],
): string | undefined {
  if (branches.length === 0) return undefined;
  const raw = branches.filter(([b]) => b.sample.source === 'raw');
  const rollups = branches.filter(([b]) => b.sample.source !== 'raw');
  const labels = columns.map((k) => `${quote(k)}, `).join('');
  const parts: string[] = [];
  if (raw.length) {
    // Each raw branch's bucket width, chosen by branch after the per-minute step (a key fewer to hash there).
    const width = `CASE branch ${raw.map(([, i]) => `WHEN ${i} THEN ?`).join(' ')} END`;
    const widths = raw.map(([b]) => b.sample.bucketMs);
    params.push(...widths, ...widths); // the CASE appears twice below
    const scans = unionAll(raw.map(([b, i]) => branchScan(b, i, columns, '__time, value', params)));
    parts.push(`SELECT branch, CAST(floor(epoch_ms(__time) / ${width}) * ${width} AS DOUBLE) AS bucket, ${labels}s AS v_sum, s AS v_min, s AS v_max, 1 AS minutes, n AS samples FROM (
    SELECT branch, ${labels}__time, SUM(value) AS s, COUNT(*) AS n FROM (${scans}) GROUP BY ALL)`);
  }
  for (const [b, i] of rollups) parts.push(branchScan(b, i, columns, 'v_sum, v_min, v_max, minutes, samples', params));
  return `SELECT branch, bucket, ${labels}SUM(v_sum) AS v_sum, MIN(v_min) AS v_min, MAX(v_max) AS v_max,
    CAST(SUM(minutes) AS DOUBLE) AS minutes, CAST(SUM(samples) AS DOUBLE) AS samples FROM (${unionAll(parts)}) GROUP BY ALL`;
}

/**
 * One statement for every branch. A row names its branch by index (an integer
 * column costs less to hand over than text), and carries only the label
 * columns some branch groups by (NULL where its branch does not).
 *
 * The ORDER BY is there for memory, not order: an aggregate hands over its
 * groups in many small chunks (one per hash partition and thread), and every
 * chunk of a result is a 2,048-row native block that DuckDB's Node API frees
 * only when V8 finalizes it. A 24-branch dashboard read came back as 20–50
 * chunks (5–13 MB) for about 1,000 rows, and a minute boundary's burst of such
 * reads held hundreds of MB until the next full GC. Sorted, the same rows come
 * back in full chunks, no slower.
 */
export function piecesSql(branches: readonly Branch[]): SqlText {
  const params: (string | number)[] = [];
  const columns = GROUP_KEYS.filter((k) => branches.some((b) => b.sample.groupBy.includes(k)));
  const direct: [Branch, number][] = [];
  const aggregating: [Branch, number][] = [];
  for (const [i, b] of branches.entries()) (storedRowsAreBuckets(b) ? direct : aggregating).push([b, i]);
  const aggregated = aggregatedBranches(aggregating, columns, params);
  const parts = [...(aggregated ? [aggregated] : []), ...direct.map(([b, i]) => directBranch(b, i, columns, params))];
  return { sql: `SELECT * FROM (${unionAll(parts)}) ORDER BY branch`, params };
}
