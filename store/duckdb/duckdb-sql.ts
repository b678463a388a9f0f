import { GROUP_KEYS, levelId, type GroupKey } from '../../catalog/catalog.ts';
import type { Filter, Interval, TenantScope } from '../../planner/query.ts';
import { filterPredicate } from '../filter-sql.ts';
import { storedRowsAreBuckets, type Branch } from '../piece-batch.ts';
import { empty, ident, join, raw, sql, type Sql } from '../sql-fragment.ts';

/** A parameterized SQL text, as the store's read methods take it: values never enter the text, only `?` placeholders. */
export interface SqlText {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** A fragment in the read methods' form (a fresh array: they take a mutable one). */
export const sqlText = (fragment: Sql): SqlText => ({ sql: fragment.text, params: [...fragment.params] });

/** Identifiers come from the catalog only; quoting also guards reserved words such as "partition". */
export const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

export function tenantCondition(scope: TenantScope): Sql {
  // The all-tenants scope is an explicit widening for internal and billing roles.
  return scope.kind === 'tenant' ? sql`tenant_id = ${scope.tenantId}` : sql`tenant_id IS NOT NULL`;
}

export const filterCondition = (filter: Filter | undefined): Sql =>
  filterPredicate(filter, { ident: (k) => ident(k), alwaysTrue: sql`TRUE` });

/**
 * The uniform output columns of every branch, so branches can be UNION ALLed:
 * the labels some branch groups by (`columns`), NULL where this one does not.
 */
function groupColumns(groupBy: readonly GroupKey[], columns: readonly GroupKey[]): Sql {
  const each = columns.map((k) => (groupBy.includes(k) ? sql`${ident(k)}, ` : sql`CAST(NULL AS VARCHAR) AS ${ident(k)}, `));
  return join(each, '');
}

/**
 * Bucket starts and counts come back as DOUBLE, exact below 2^53 (ms timestamps,
 * sample counts): BIGINT and HUGEINT arrive as JS BigInts, and converting
 * thousands of them per answer cost more than the rest of the row.
 */
const bucket = (bucketMs: number): Sql => sql`CAST(floor(epoch_ms(__time) / ${bucketMs}) * ${bucketMs} AS DOUBLE)`;

const timeCondition = ({ start, end }: Interval): Sql =>
  sql`__time >= epoch_ms(CAST(${start} AS BIGINT)) AND __time < epoch_ms(CAST(${end} AS BIGINT))`;

/** A branch's conditions: the tenant, the metric, a rollup's level, the time range and the filter. */
function branchWhere(branch: Branch, rollup: boolean): Sql {
  const p = branch.sample;
  const level = rollup ? [sql`level = ${levelId(p.level ?? [])}`] : [];
  const conditions = [
    tenantCondition(p.scope),
    sql`metric = ${p.metric}`,
    ...level,
    timeCondition(branch.interval),
    filterCondition(p.filter),
  ];
  return join(conditions, ' AND ');
}

/**
 * A branch's scan: its rows tagged with its index (and, for a rollup, its
 * answer bucket), filtered as it asks, which DuckDB pushes into the scan.
 */
function branchScan(branch: Branch, index: number, columns: readonly GroupKey[], select: Sql): Sql {
  const p = branch.sample;
  const rollup = p.source !== 'raw';
  const head = sql`SELECT ${raw(index)} AS branch, ${rollup ? sql`${bucket(p.bucketMs)} AS bucket, ` : empty}${groupColumns(p.groupBy, columns)}`;
  return sql`${head}${select} FROM ${rollup ? ident(p.source) : sql`telemetry_raw`} WHERE ${branchWhere(branch, rollup)}`;
}

/** A rollup branch whose stored rows are its answer's rows: read as they are, with no aggregate. */
function directBranch(branch: Branch, index: number, columns: readonly GroupKey[]): Sql {
  const p = branch.sample;
  return sql`SELECT ${raw(index)} AS branch, CAST(epoch_ms(__time) AS DOUBLE) AS bucket, ${groupColumns(p.groupBy, columns)}
    v_sum, v_min, v_max, CAST(minutes AS DOUBLE) AS minutes, CAST(samples AS DOUBLE) AS samples FROM ${ident(p.source)} WHERE ${branchWhere(branch, true)}`;
}

function unionAll(parts: readonly Sql[]): Sql {
  const wrapped = parts.map((s) => sql`(${s})`);
  return join(wrapped, '\nUNION ALL\n');
}

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
function aggregatedBranches(branches: readonly [Branch, number][], columns: readonly GroupKey[]): Sql | undefined {
  if (branches.length === 0) return undefined;
  const rawBranches = branches.filter(([b]) => b.sample.source === 'raw');
  const rollups = branches.filter(([b]) => b.sample.source !== 'raw');
  const eachLabel = columns.map((k) => sql`${ident(k)}, `);
  const labels = join(eachLabel, '');
  const parts: Sql[] = [];
  if (rawBranches.length) {
    // Each raw branch's bucket width, chosen by branch after the per-minute step (a key fewer to hash there).
    const whens = rawBranches.map(([b, i]) => sql`WHEN ${raw(i)} THEN ${b.sample.bucketMs}`);
    const width = sql`CASE branch ${join(whens, ' ')} END`;
    const scans = unionAll(rawBranches.map(([b, i]) => branchScan(b, i, columns, sql`__time, value`)));
    parts.push(sql`SELECT branch, CAST(floor(epoch_ms(__time) / ${width}) * ${width} AS DOUBLE) AS bucket, ${labels}s AS v_sum, s AS v_min, s AS v_max, 1 AS minutes, n AS samples FROM (
    SELECT branch, ${labels}__time, SUM(value) AS s, COUNT(*) AS n FROM (${scans}) GROUP BY ALL)`);
  }
  for (const [b, i] of rollups) parts.push(branchScan(b, i, columns, sql`v_sum, v_min, v_max, minutes, samples`));
  return sql`SELECT branch, bucket, ${labels}SUM(v_sum) AS v_sum, MIN(v_min) AS v_min, MAX(v_max) AS v_max,
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
  const columns = GROUP_KEYS.filter((k) => branches.some((b) => b.sample.groupBy.includes(k)));
  const direct: [Branch, number][] = [];
  const aggregating: [Branch, number][] = [];
  for (const [i, b] of branches.entries()) (storedRowsAreBuckets(b) ? direct : aggregating).push([b, i]);
  const aggregated = aggregatedBranches(aggregating, columns);
  const parts = [...(aggregated ? [aggregated] : []), ...direct.map(([b, i]) => directBranch(b, i, columns))];
  return sqlText(sql`SELECT * FROM (${unionAll(parts)}) ORDER BY branch`);
}
