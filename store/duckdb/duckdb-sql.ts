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

function groupList(groupBy: readonly GroupKey[]): string {
  return groupBy.map(quote).join(', ');
}

/**
 * Bucket starts and counts come back as DOUBLE, exact below 2^53 (ms timestamps,
 * sample counts): BIGINT and HUGEINT arrive as JS BigInts, and converting
 * thousands of them per answer cost more than the rest of the row.
 */
const BUCKET = 'CAST(floor(epoch_ms(__time) / ?) * ? AS DOUBLE)';

const TIME_RANGE = '__time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))';

/**
 * Raw: first the per-minute SUM across the series of each group (space), then
 * the time aggregates over those minutes within each bucket.
 */
function rawBranch(branch: Branch, index: number, columns: readonly GroupKey[], params: (string | number)[]): string {
  const p = branch.sample;
  const inner = p.groupBy.length ? `, ${groupList(p.groupBy)}` : '';
  params.push(p.bucketMs, p.bucketMs);
  const head = `SELECT ${index} AS branch, ${BUCKET} AS bucket, ${groupColumns(p.groupBy, columns)}
    SUM(s) AS v_sum, MIN(s) AS v_min, MAX(s) AS v_max, CAST(COUNT(*) AS DOUBLE) AS minutes, CAST(SUM(n) AS DOUBLE) AS samples`;
  const where: string[] = [tenantPredicate(p.scope, params), 'metric = ?'];
  params.push(p.metric, branch.interval.start, branch.interval.end);
  where.push(TIME_RANGE, filterSql(p.filter, params));
  return `${head} FROM (SELECT __time${inner}, SUM(value) AS s, COUNT(*) AS n FROM telemetry_raw
    WHERE ${where.join(' AND ')} GROUP BY __time${inner}) GROUP BY bucket${inner}`;
}

/**
 * Rollups: re-aggregate stored bucket aggregates at the level the planner
 * chose, or, when the stored rows are the answer's rows, read them as they are.
 */
function rollupBranch(branch: Branch, index: number, columns: readonly GroupKey[], params: (string | number)[]): string {
  const p = branch.sample;
  const direct = storedRowsAreBuckets(branch);
  const group = p.groupBy.length ? `, ${groupList(p.groupBy)}` : '';
  if (!direct) params.push(p.bucketMs, p.bucketMs);
  const head = direct
    ? `SELECT ${index} AS branch, CAST(epoch_ms(__time) AS DOUBLE) AS bucket, ${groupColumns(p.groupBy, columns)}
    v_sum, v_min, v_max, CAST(minutes AS DOUBLE) AS minutes, CAST(samples AS DOUBLE) AS samples`
    : `SELECT ${index} AS branch, ${BUCKET} AS bucket, ${groupColumns(p.groupBy, columns)}
    SUM(v_sum) AS v_sum, MIN(v_min) AS v_min, MAX(v_max) AS v_max, CAST(SUM(minutes) AS DOUBLE) AS minutes, CAST(SUM(samples) AS DOUBLE) AS samples`;
  const where: string[] = [tenantPredicate(p.scope, params), 'metric = ?', 'level = ?'];
  params.push(p.metric, levelId(p.level ?? []), branch.interval.start, branch.interval.end);
  where.push(TIME_RANGE, filterSql(p.filter, params));
  return `${head} FROM ${quote(p.source)} WHERE ${where.join(' AND ')}${direct ? '' : ` GROUP BY bucket${group}`}`;
}

/**
 * One statement for every branch. A row names its branch by index (an integer
 * column costs less to hand over than text), and carries only the label
 * columns some branch groups by.
 *
 * The ORDER BY is there for memory, not order: each aggregate hands over its
 * groups in many small chunks (one per hash partition and thread), and every
 * chunk of a result is a 2,048-row native block that DuckDB's Node API frees
 * only when V8 finalizes it. A 24-branch dashboard read came back as 20–50
 * chunks (5–13 MB) for about 1,000 rows, and a minute boundary's burst of such
 * reads held hundreds of MB until the next full GC. Sorted, the same rows come
 * back in full chunks (one here), no slower.
 */
export function piecesSql(branches: readonly Branch[]): SqlText {
  const params: (string | number)[] = [];
  const columns = GROUP_KEYS.filter((k) => branches.some((b) => b.sample.groupBy.includes(k)));
  const parts = branches.map((b, i) => (b.sample.source === 'raw' ? rawBranch(b, i, columns, params) : rollupBranch(b, i, columns, params)));
  return { sql: `SELECT * FROM (${parts.map((s) => `(${s})`).join('\nUNION ALL\n')}) ORDER BY branch`, params };
}
