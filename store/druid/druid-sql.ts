import { C, T } from 'druid-query-toolkit';
import { DAY_MS, GROUP_KEYS, METRICS, levelId, type GroupKey, type RollupDefinition } from '../../catalog/catalog.ts';
import type { Filter, Interval, TenantScope } from '../../planner/query.ts';
import type { UsageRequest } from '../metric-store.ts';
import { filterPredicate } from '../filter-sql.ts';
import type { Branch } from '../piece-batch.ts';
import { USAGE_COLUMNS } from '../duckdb/duckdb-usage.ts';
import type { DruidParam } from './druid-client.ts';

/** A parameterized Druid SQL text: values only ever travel as dynamic parameters. */
export interface DruidSql {
  readonly sql: string;
  readonly params: DruidParam[];
}

/** Identifiers come from the catalog only; the toolkit quotes them (reserved words "partition", "value"). */
export const col = (name: string): string => C(name).toString();
export const table = (name: string): string => T(name).toString();

const str = (value: string): DruidParam => ({ type: 'VARCHAR', value });
const long = (value: number): DruidParam => ({ type: 'BIGINT', value });

/** The uniform group-key columns of every branch (as catalog GROUP_KEYS). */
export const GROUP_KEY_COLUMNS: readonly GroupKey[] = GROUP_KEYS;

export function tenantPredicate(scope: TenantScope, params: DruidParam[]): string {
  if (scope.kind === 'tenant') {
    params.push(str(scope.tenantId));
    return `${col('tenant_id')} = ?`;
  }
  // The all-tenants scope is an explicit widening for internal and billing roles.
  return `${col('tenant_id')} IS NOT NULL`;
}

export function filterSql(filter: Filter | undefined, params: DruidParam[]): string {
  return filterPredicate(filter, { quote: col, bind: (v) => params.push(str(v)), alwaysTrue: '1 = 1' });
}

export function timeRange(interval: Interval, params: DruidParam[]): string {
  params.push(long(interval.start), long(interval.end));
  return `${col('__time')} >= MILLIS_TO_TIMESTAMP(?) AND ${col('__time')} < MILLIS_TO_TIMESTAMP(?)`;
}

/** Bucket start as epoch millis (integer division of BIGINTs floors for post-1970 times). */
function bucketExpr(bucketMs: number, params: DruidParam[]): string {
  params.push(long(bucketMs), long(bucketMs));
  return `(TIMESTAMP_TO_MILLIS(${col('__time')}) / ?) * ?`;
}

/**
 * One branch: columns branch, bucket, every group key (NULL when not grouped,
 * so that branches line up), v_sum, v_min, v_max, minutes, samples.
 *
 * Raw: first the per-minute SUM across the series of each group (space), then
 * the time aggregates over those minutes within each bucket (as duckdb-sql.ts).
 * Rollups: re-aggregate stored bucket aggregates at the level the planner chose.
 */
function branchSelect(branch: Branch, params: DruidParam[]): string {
  const p = branch.sample;
  params.push(str(branch.id));
  const bucket = bucketExpr(p.bucketMs, params);
  const groupColumns = GROUP_KEY_COLUMNS.map((k) => (p.groupBy.includes(k) ? col(k) : `CAST(NULL AS VARCHAR) AS ${col(k)}`)).join(', ');
  const groupByList = ['1', '2', ...p.groupBy.map((k) => String(3 + GROUP_KEY_COLUMNS.indexOf(k)))].join(', ');
  const keys = p.groupBy.length ? `, ${p.groupBy.map(col).join(', ')}` : '';
  if (p.source === 'raw') {
    const where = [tenantPredicate(p.scope, params), `${col('metric')} = ?`];
    params.push(str(p.metric));
    where.push(timeRange(branch.interval, params), filterSql(p.filter, params));
    const innerOrdinals = ['1', ...p.groupBy.map((_, i) => String(i + 2))].join(', ');
    return `SELECT ? AS "branch", ${bucket} AS "bucket", ${groupColumns},
  SUM("s") AS "v_sum", MIN("s") AS "v_min", MAX("s") AS "v_max", COUNT(*) AS "minutes", SUM("n") AS "samples"
FROM (SELECT ${col('__time')}${keys}, SUM(${col('value')}) AS "s", COUNT(*) AS "n" FROM ${table('telemetry_raw')}
  WHERE ${where.join(' AND ')} GROUP BY ${innerOrdinals})
GROUP BY ${groupByList}`;
  }
  const where = [tenantPredicate(p.scope, params), `${col('metric')} = ?`];
  params.push(str(p.metric));
  where.push(levelPredicate(levelId(p.level ?? []), params));
  where.push(timeRange(branch.interval, params), filterSql(p.filter, params));
  return `SELECT ? AS "branch", ${bucket} AS "bucket", ${groupColumns},
  SUM("v_sum") AS "v_sum", MIN("v_min") AS "v_min", MAX("v_max") AS "v_max", SUM("minutes") AS "minutes", SUM("samples") AS "samples"
FROM ${table(p.source)} WHERE ${where.join(' AND ')} GROUP BY ${groupByList}`;
}

/**
 * All branches of one store call as one top-level UNION ALL (one HTTP round
 * trip; Druid 27 runs the parts one after another inside the broker and
 * concatenates them). Parameters are in text order.
 */
export function piecesSql(branches: readonly Branch[]): DruidSql {
  const params: DruidParam[] = [];
  const parts = branches.map((b) => branchSelect(b, params));
  return { sql: parts.join('\nUNION ALL\n'), params };
}

/**
 * The cluster level is the empty string; Druid 27 (default-value null handling)
 * stores '' as null, so the cluster level is matched as "empty or null".
 */
function levelPredicate(level: string, params: DruidParam[]): string {
  if (level === '') return `(${col('level')} IS NULL OR ${col('level')} = '')`;
  params.push(str(level));
  return `${col('level')} = ?`;
}


/**
 * Billing usage per tenant, cluster and UTC day: two queries (complete days
 * from rollup_1d's cluster level, the rest from raw), merged by the store with
 * BigInt. Sums are of BIGINT casts, returned as strings, so no double rounding.
 */
export function usageSqls(request: UsageRequest): DruidSql[] {
  const metrics = Object.values(USAGE_COLUMNS);
  const split = Math.min(Math.max(request.rollupUntil, request.interval.start), request.interval.end);
  const build = (source: 'rollup_1d' | 'telemetry_raw', interval: Interval): DruidSql | undefined => {
    if (interval.end <= interval.start) return undefined;
    const params: DruidParam[] = [];
    const valueCol = source === 'rollup_1d' ? col('v_sum') : col('value');
    const day = `(TIMESTAMP_TO_MILLIS(${col('__time')}) / ?) * ?`;
    params.push(long(DAY_MS), long(DAY_MS));
    const columns = Object.entries(USAGE_COLUMNS).map(([alias, metric]) => {
      params.push(str(metric));
      return `CAST(SUM(CASE WHEN ${col('metric')} = ? THEN CAST(${valueCol} AS BIGINT) ELSE 0 END) AS VARCHAR) AS ${col(alias)}`;
    });
    const where = [tenantPredicate(request.scope, params)];
    if (source === 'rollup_1d') where.push(levelPredicate('', params));
    params.push(...metrics.map(str));
    where.push(`${col('metric')} IN (${metrics.map(() => '?').join(', ')})`, timeRange(interval, params));
    return {
      sql: `SELECT ${col('tenant_id')}, ${col('resource_id')}, ${day} AS "day", ${columns.join(', ')}
FROM ${table(source)} WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3`,
      params,
    };
  };
  return [build('rollup_1d', { start: request.interval.start, end: split }), build('telemetry_raw', { start: split, end: request.interval.end })].filter(
    (q): q is DruidSql => q !== undefined,
  );
}

/**
 * MSQ statements rebuilding one rollup over a closed interval, one task per
 * (metric, level) as in duckdb-schema.ts: the first REPLACEs the interval, the
 * others INSERT into it (a single UNION ALL task was not tried on MSQ 27).
 * Same columns and semantics as duckdb-schema.ts. Note CAST(double AS BIGINT)
 * truncates in Druid and rounds in DuckDB; the stored values are integers.
 */
export function rollupMsqStatements(rollup: RollupDefinition, interval: Interval): DruidSql[] {
  const statements: DruidSql[] = [];
  const partition = rollup.bucketMs >= DAY_MS ? 'DAY' : 'HOUR';
  for (const metric of METRICS) {
    for (const level of rollup.levels[metric.name] ?? []) {
      const params: DruidParam[] = [];
      const labels = level.map(col);
      const keys = [col('tenant_id'), col('resource_id'), col('metric'), ...labels];
      const inner = [col('__time'), ...keys].join(', ');
      // MSQ 27 cannot type constant output columns ("Missing type for column [p1]"), so: the metric is
      // the grouped column itself, labels outside the level are left out (absent = null in Druid),
      // and a non-empty level id is an expression over a column (the cluster level '' is null under
      // Druid 27's default-value null handling, so it is left out too).
      // LATEST_BY fails in MSQ 27 (ClassCastException on its pair), so v_last (the per-minute sum
      // at the newest minute of the bucket) comes from a join on that minute.
      const levelCol = level.length ? `, CASE WHEN a.${col('metric')} IS NULL THEN NULL ELSE ? END AS ${col('level')}` : '';
      if (level.length) params.push(str(levelId(level)));
      const perMinute = (): string => {
        params.push(str(metric.name));
        const range = timeRange(interval, params);
        return `SELECT ${inner}, SUM(${col('value')}) AS "s", COUNT(*) AS "n" FROM ${table('telemetry_raw')}
    WHERE ${col('metric')} = ? AND ${range} GROUP BY ${inner}`;
      };
      params.push(long(rollup.bucketMs), long(rollup.bucketMs));
      const aggregated = `SELECT (TIMESTAMP_TO_MILLIS(${col('__time')}) / ?) * ? AS "b", ${keys.join(', ')},
    SUM("s") AS "v_sum", MIN("s") AS "v_min", MAX("s") AS "v_max", MAX(TIMESTAMP_TO_MILLIS(${col('__time')})) AS "last_t",
    COUNT(*) AS "minutes", SUM("n") AS "samples"
  FROM (${perMinute()}) GROUP BY ${keys.map((_, i) => String(i + 2)).join(', ')}, 1`;
      const last = perMinute();
      const on = [...keys.map((k) => `a.${k} = l.${k}`), `a."last_t" = TIMESTAMP_TO_MILLIS(l.${col('__time')})`].join(' AND ');
      const head =
        statements.length === 0
          ? `REPLACE INTO ${table(rollup.name)} OVERWRITE WHERE ${col('__time')} >= TIMESTAMP '${iso(interval.start)}' AND ${col('__time')} < TIMESTAMP '${iso(interval.end)}'`
          : `INSERT INTO ${table(rollup.name)}`;
      statements.push({
        sql: `${head}
SELECT MILLIS_TO_TIMESTAMP(a."b") AS ${col('__time')}, ${keys.map((k) => `a.${k} AS ${k}`).join(', ')}${levelCol},
  a."v_sum" AS ${col('v_sum')}, a."v_min" AS ${col('v_min')}, a."v_max" AS ${col('v_max')}, l."s" AS ${col('v_last')},
  a."minutes" AS ${col('minutes')}, a."samples" AS ${col('samples')}
FROM (${aggregated}) a
JOIN (${last}) l ON ${on}
PARTITIONED BY ${partition}`,
        params,
      });
    }
  }
  return statements;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
