import { DAY_MS, USAGE_COLUMNS, type RollupName } from '../../catalog/catalog.ts';
import type { UsageRequest } from '../metric-store.ts';
import { quote, tenantPredicate, type SqlText } from './duckdb-sql.ts';

const RANGE = '__time >= epoch_ms(CAST(? AS BIGINT)) AND __time < epoch_ms(CAST(? AS BIGINT))';

/**
 * Billing usage per tenant, cluster and UTC day as exact integer sums:
 * complete days from the daily rollup's cluster level (`rollup`, the catalog's
 * usageRollup), the rest from raw. Sums are
 * of BIGINT casts, so no double rounding can creep into an invoice.
 */
export function usageSql(request: UsageRequest, rollup: RollupName): SqlText {
  // Placeholders are positional, so parameters are pushed in text order.
  const params: (string | number)[] = [];
  const metrics = Object.values(USAGE_COLUMNS);
  const split = Math.min(Math.max(request.rollupUntil, request.interval.start), request.interval.end);
  const inList = metrics.map(() => '?').join(', ');
  const columns = Object.entries(USAGE_COLUMNS).map(([alias, metric]) => {
    params.push(metric);
    return `CAST(COALESCE(SUM(CASE WHEN metric = ? THEN v END), 0) AS VARCHAR) AS ${alias}`;
  });
  const rollupWhere = `${tenantPredicate(request.scope, params)} AND level = '' AND metric IN (${inList}) AND ${RANGE}`;
  params.push(...metrics, request.interval.start, split);
  const rawWhere = `${tenantPredicate(request.scope, params)} AND metric IN (${inList}) AND ${RANGE}`;
  params.push(...metrics, split, request.interval.end);
  const sql = `SELECT tenant_id, resource_id, day, ${columns.join(', ')} FROM (
      SELECT tenant_id, resource_id, metric, CAST(epoch_ms(__time) AS BIGINT) AS day, CAST(v_sum AS BIGINT) AS v
        FROM ${quote(rollup)} WHERE ${rollupWhere}
      UNION ALL
      SELECT tenant_id, resource_id, metric, CAST(floor(epoch_ms(__time) / ${DAY_MS}) * ${DAY_MS} AS BIGINT) AS day, CAST(value AS BIGINT) AS v
        FROM telemetry_raw WHERE ${rawWhere}
    ) GROUP BY tenant_id, resource_id, day ORDER BY day, tenant_id, resource_id`;
  return { sql, params };
}
