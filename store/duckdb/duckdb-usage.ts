import { DAY_MS, USAGE_COLUMNS, type RollupName } from '../../catalog/catalog.ts';
import type { Interval } from '../../planner/query.ts';
import type { UsageRequest } from '../metric-store.ts';
import { ident, join, raw, sql, type Sql } from '../sql-fragment.ts';
import { sqlText, tenantCondition, type SqlText } from './duckdb-sql.ts';

const range = ({ start, end }: Interval): Sql =>
  sql`__time >= epoch_ms(CAST(${start} AS BIGINT)) AND __time < epoch_ms(CAST(${end} AS BIGINT))`;

/**
 * Billing usage per tenant, cluster and UTC day as exact integer sums:
 * complete days from the daily rollup's cluster level (`rollup`, the catalog's
 * usageRollup), the rest from raw. Sums are of BIGINT casts, so no double
 * rounding can creep into an invoice.
 */
export function usageSql(request: UsageRequest, rollup: RollupName): SqlText {
  const metrics = Object.values(USAGE_COLUMNS);
  const split = Math.min(Math.max(request.rollupUntil, request.interval.start), request.interval.end);
  const inList = join(metrics.map((m) => sql`${m}`));
  const columns = join(
    Object.entries(USAGE_COLUMNS).map(
      ([alias, metric]) => sql`CAST(COALESCE(SUM(CASE WHEN metric = ${metric} THEN v END), 0) AS VARCHAR) AS ${ident(alias)}`,
    ),
  );
  const tenant = tenantCondition(request.scope);
  const fromRollup = range({ start: request.interval.start, end: split });
  const fromRaw = range({ start: split, end: request.interval.end });
  return sqlText(sql`SELECT tenant_id, resource_id, day, ${columns} FROM (
      SELECT tenant_id, resource_id, metric, CAST(epoch_ms(__time) AS BIGINT) AS day, CAST(v_sum AS BIGINT) AS v
        FROM ${ident(rollup)} WHERE ${tenant} AND level = '' AND metric IN (${inList}) AND ${fromRollup}
      UNION ALL
      SELECT tenant_id, resource_id, metric, CAST(floor(epoch_ms(__time) / ${raw(DAY_MS)}) * ${raw(DAY_MS)} AS BIGINT) AS day, CAST(value AS BIGINT) AS v
        FROM telemetry_raw WHERE ${tenant} AND metric IN (${inList}) AND ${fromRaw}
    ) GROUP BY tenant_id, resource_id, day ORDER BY day, tenant_id, resource_id`);
}
