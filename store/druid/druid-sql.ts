import { C, L, T } from 'druid-query-toolkit';
import {
  DAY_MS,
  GROUP_KEYS,
  LABEL_COLUMNS,
  METRICS,
  USAGE_COLUMNS,
  levelId,
  type GroupKey,
  type RollupDefinition,
  type RollupName,
} from '../../catalog/catalog.ts';
import type { Filter, Interval, TenantScope } from '../../planner/query.ts';
import type { UsageRequest } from '../metric-store.ts';
import { filterPredicate } from '../filter-sql.ts';
import type { Branch } from '../piece-batch.ts';
import { empty, ident, join, raw, sql, type Sql, type SqlValue } from '../sql-fragment.ts';
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

/** Identifiers and datasources as fragments, quoted by the toolkit as `col` and `table` are. */
const id = (name: string): Sql => ident(name, col);
const from = (name: string): Sql => ident(name, table);

/**
 * Druid types each dynamic parameter: strings are VARCHAR; the numbers bound
 * here are epoch millis and bucket widths, so integers are BIGINT.
 */
export const druidParams = (params: readonly SqlValue[]): DruidParam[] =>
  params.map((v) => (typeof v === 'string' ? str(v) : Number.isSafeInteger(v) ? long(v) : { type: 'DOUBLE', value: v }));

export const druidSql = (fragment: Sql): DruidSql => ({ sql: fragment.text, params: druidParams(fragment.params) });

/** A fragment for callers that still build text plus a params array: appends its parameters to `params`. */
function appendTo(fragment: Sql, params: DruidParam[]): string {
  params.push(...druidParams(fragment.params));
  return fragment.text;
}

export function tenantCondition(scope: TenantScope): Sql {
  // The all-tenants scope is an explicit widening for internal and billing roles.
  return scope.kind === 'tenant' ? sql`${id('tenant_id')} = ${scope.tenantId}` : sql`${id('tenant_id')} IS NOT NULL`;
}

export const filterCondition = (filter: Filter | undefined): Sql => filterPredicate(filter, { ident: id, alwaysTrue: sql`1 = 1` });

export const timeCondition = ({ start, end }: Interval): Sql =>
  sql`${id('__time')} >= MILLIS_TO_TIMESTAMP(${start}) AND ${id('__time')} < MILLIS_TO_TIMESTAMP(${end})`;

/** `timeCondition` in the text + params form, for rollupMsqStatement (MSQ goes with the move past Druid 27). */
const timeRange = (interval: Interval, params: DruidParam[]): string => appendTo(timeCondition(interval), params);

/** A scope's clusters and their tenants. */
export const resourcesSql = (scope: TenantScope): DruidSql =>
  druidSql(sql`SELECT ${id('tenant_id')}, ${id('resource_id')} FROM ${from('resources')} WHERE ${tenantCondition(scope)} GROUP BY 1, 2`);

/** The tenants and metrics a rollup holds in an interval (what a rebuild touched). */
export const touchedSql = (rollup: RollupName, interval: Interval): DruidSql =>
  druidSql(sql`SELECT ${id('tenant_id')}, ${id('metric')} FROM ${from(rollup)} WHERE ${timeCondition(interval)} GROUP BY 1, 2`);

/** Bucket start as epoch millis (integer division of BIGINTs floors for post-1970 times). */
const bucketExpr = (bucketMs: number): Sql => sql`(TIMESTAMP_TO_MILLIS(${id('__time')}) / ${bucketMs}) * ${bucketMs}`;

const ordinals = (ns: readonly number[]): Sql => join(ns.map(raw), ', ');

/**
 * One branch: columns branch, bucket, every group key (NULL when not grouped,
 * so that branches line up), v_sum, v_min, v_max, minutes, samples.
 *
 * Raw: first the per-minute SUM across the series of each group (space), then
 * the time aggregates over those minutes within each bucket (as duckdb-sql.ts).
 * Rollups: re-aggregate stored bucket aggregates at the level the planner chose.
 */
function branchSelect(branch: Branch): Sql {
  const p = branch.sample;
  const groupColumns = GROUP_KEY_COLUMNS.map((k) => (p.groupBy.includes(k) ? id(k) : sql`CAST(NULL AS VARCHAR) AS ${id(k)}`));
  const head = sql`SELECT ${branch.id} AS "branch", ${bucketExpr(p.bucketMs)} AS "bucket", ${join(groupColumns, ', ')}`;
  const groupByList = ordinals([1, 2, ...p.groupBy.map((k) => 3 + GROUP_KEY_COLUMNS.indexOf(k))]);
  const level = p.source === 'raw' ? [] : [levelCondition(levelId(p.level ?? []))];
  const where = join(
    [tenantCondition(p.scope), sql`${id('metric')} = ${p.metric}`, ...level, timeCondition(branch.interval), filterCondition(p.filter)],
    ' AND ',
  );
  if (p.source === 'raw') {
    const keys = p.groupBy.length ? sql`, ${join(p.groupBy.map(id), ', ')}` : empty;
    const innerOrdinals = ordinals([1, ...p.groupBy.map((_, i) => i + 2)]);
    return sql`${head},
  SUM("s") AS "v_sum", MIN("s") AS "v_min", MAX("s") AS "v_max", COUNT(*) AS "minutes", SUM("n") AS "samples"
FROM (SELECT ${id('__time')}${keys}, SUM(${id('value')}) AS "s", COUNT(*) AS "n" FROM ${from('telemetry_raw')}
  WHERE ${where} GROUP BY ${innerOrdinals})
GROUP BY ${groupByList}`;
  }
  return sql`${head},
  SUM("v_sum") AS "v_sum", MIN("v_min") AS "v_min", MAX("v_max") AS "v_max", SUM("minutes") AS "minutes", SUM("samples") AS "samples"
FROM ${from(p.source)} WHERE ${where} GROUP BY ${groupByList}`;
}

/**
 * All branches of one store call as one top-level UNION ALL (one HTTP round
 * trip; Druid 27 runs the parts one after another inside the broker and
 * concatenates them).
 */
export function piecesSql(branches: readonly Branch[]): DruidSql {
  return druidSql(join(branches.map(branchSelect), '\nUNION ALL\n'));
}

/**
 * The cluster level is the empty string; Druid 27 (default-value null handling)
 * stores '' as null, so the cluster level is matched as "empty or null".
 */
function levelCondition(level: string): Sql {
  return level === '' ? sql`(${id('level')} IS NULL OR ${id('level')} = '')` : sql`${id('level')} = ${level}`;
}

/**
 * Billing usage per tenant, cluster and UTC day: two queries (complete days
 * from the daily rollup's cluster level, `rollup`, the rest from raw), merged by the store with
 * BigInt. Sums are of BIGINT casts, returned as strings, so no double rounding.
 */
export function usageSqls(request: UsageRequest, rollup: RollupName): DruidSql[] {
  const metrics = Object.values(USAGE_COLUMNS);
  const split = Math.min(Math.max(request.rollupUntil, request.interval.start), request.interval.end);
  const build = (source: RollupName, interval: Interval): DruidSql | undefined => {
    if (interval.end <= interval.start) return undefined;
    const value = id(source === rollup ? 'v_sum' : 'value');
    const columns = Object.entries(USAGE_COLUMNS).map(
      ([alias, metric]) =>
        sql`CAST(SUM(CASE WHEN ${id('metric')} = ${metric} THEN CAST(${value} AS BIGINT) ELSE 0 END) AS VARCHAR) AS ${id(alias)}`,
    );
    const where = [
      tenantCondition(request.scope),
      ...(source === rollup ? [levelCondition('')] : []),
      sql`${id('metric')} IN (${join(metrics.map((m) => sql`${m}`))})`,
      timeCondition(interval),
    ];
    return druidSql(sql`SELECT ${id('tenant_id')}, ${id('resource_id')}, ${bucketExpr(DAY_MS)} AS "day", ${join(columns)}
FROM ${from(source)} WHERE ${join(where, ' AND ')} GROUP BY 1, 2, 3`);
  };
  return [
    build(rollup, { start: request.interval.start, end: split }),
    build('telemetry_raw', { start: split, end: request.interval.end }),
  ].filter((q): q is DruidSql => q !== undefined);
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/**
 * The MSQ statement rebuilding one rollup over a closed interval, with the
 * columns and semantics of duckdb-schema.ts, in ONE task: the raw rows of
 * the interval are joined to an inline table of the rollup's levels (metric,
 * level id, and a 0/1 flag per label saying whether the level keeps it), so
 * one GROUP BY yields every (metric, level) at once. Labels a level does not
 * keep become '' (the same as absent under Druid 27's default-value null
 * handling). v_last (the per-minute sum at the newest minute of the bucket)
 * comes from a join on that minute: LATEST_BY fails in MSQ 27
 * (ClassCastException on its pair), and UNION ALL is not supported there.
 * One task instead of one per (metric, level): an hour 30 s -> 5 s, a day
 * 40 s -> 22-30 s on 2 cores (18 and 16 tasks before). Note CAST(double AS
 * BIGINT) truncates in Druid and rounds in DuckDB; the stored values are integers.
 */
export function rollupMsqStatement(rollup: RollupDefinition, interval: Interval): DruidSql {
  const params: DruidParam[] = [];
  const levels = METRICS.flatMap((metric) =>
    (rollup.levels[metric.name] ?? []).map((level) => ({
      metric: metric.name,
      level: levelId(level),
      ...Object.fromEntries(LABEL_COLUMNS.map((c) => [`k_${c}`, level.includes(c) ? 1 : 0])),
    })),
  );
  const signature = [
    { name: 'metric', type: 'string' },
    { name: 'level', type: 'string' },
    ...LABEL_COLUMNS.map((c) => ({ name: `k_${c}`, type: 'long' })),
  ];
  const levelTable = `TABLE(EXTERN(${L(JSON.stringify({ type: 'inline', data: levels.map((l) => JSON.stringify(l)).join('\n') }))}, ${L('{"type":"json"}')}, ${L(JSON.stringify(signature))}))`;
  const keys = [col('tenant_id'), col('resource_id'), col('metric'), col('level'), ...LABEL_COLUMNS.map(col)];
  const perMinute = (): string => {
    const labels = LABEL_COLUMNS.map((c) => `CASE WHEN lv.${col(`k_${c}`)} = 1 THEN r.${col(c)} ELSE '' END AS ${col(c)}`);
    const range = timeRange(interval, params).replaceAll(col('__time'), `r.${col('__time')}`);
    // One string per series, as the v_last join key: null-safe (no NULL = NULL) under either null handling.
    const seriesKey = `CONCAT(${[
      `r.${col('tenant_id')}`,
      `r.${col('resource_id')}`,
      `r.${col('metric')}`,
      `lv.${col('level')}`,
      ...LABEL_COLUMNS.map((c) => `CASE WHEN lv.${col(`k_${c}`)} = 1 THEN r.${col(c)} ELSE '' END`),
    ]
      .map((e) => `COALESCE(${e}, '')`)
      .join(`, '|', `)})`;
    return `SELECT r.${col('__time')} AS ${col('__time')}, r.${col('tenant_id')} AS ${col('tenant_id')}, r.${col('resource_id')} AS ${col('resource_id')},
      r.${col('metric')} AS ${col('metric')}, lv.${col('level')} AS ${col('level')}, ${labels.join(', ')}, ${seriesKey} AS "k", SUM(r.${col('value')}) AS "s", COUNT(*) AS "n"
    FROM ${table('telemetry_raw')} r JOIN ${levelTable} lv ON r.${col('metric')} = lv.${col('metric')}
    WHERE ${range} GROUP BY ${Array.from({ length: keys.length + 2 }, (_, i) => String(i + 1)).join(', ')}`;
  };
  // MSQ 27 broadcasts the right side of a join into memory: the per-minute rows (many) stream on the
  // left and the per-bucket aggregates (one row per series and bucket) are the right side.
  const last = perMinute();
  params.push(long(rollup.bucketMs), long(rollup.bucketMs));
  const aggregated = `SELECT (TIMESTAMP_TO_MILLIS(${col('__time')}) / ?) * ? AS "b", ${keys.join(', ')},
    SUM("s") AS "v_sum", MIN("s") AS "v_min", MAX("s") AS "v_max", MAX(TIMESTAMP_TO_MILLIS(${col('__time')})) AS "last_t",
    COUNT(*) AS "minutes", SUM("n") AS "samples", "k"
  FROM (${perMinute()}) GROUP BY ${keys.map((_, i) => String(i + 2)).join(', ')}, 1, "k"`;
  const on = `a."k" = l."k" AND a."last_t" = TIMESTAMP_TO_MILLIS(l.${col('__time')})`;
  const partition = rollup.bucketMs >= DAY_MS ? 'DAY' : 'HOUR';
  return {
    sql: `REPLACE INTO ${table(rollup.name)} OVERWRITE WHERE ${col('__time')} >= TIMESTAMP '${iso(interval.start)}' AND ${col('__time')} < TIMESTAMP '${iso(interval.end)}'
SELECT MILLIS_TO_TIMESTAMP(a."b") AS ${col('__time')}, ${keys.map((k) => `a.${k} AS ${k}`).join(', ')},
  a."v_sum" AS ${col('v_sum')}, a."v_min" AS ${col('v_min')}, a."v_max" AS ${col('v_max')}, l."s" AS ${col('v_last')},
  a."minutes" AS ${col('minutes')}, a."samples" AS ${col('samples')}
FROM (${last}) l
JOIN (${aggregated}) a ON ${on}
PARTITIONED BY ${partition}`,
    params,
  };
}
