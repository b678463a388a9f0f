import { LABEL_COLUMNS } from '../../catalog/catalog.ts';

/*
 * The SQL of the point writer (duckdb-point-writer.ts), statement by
 * statement, in the order one write transaction runs them. The derivation is
 * ingest/derive-raw-rows.ts's rule, computed for the series and minutes a
 * write touched; test/ingest-point-writer.test.ts checks the two agree on
 * random point sets.
 *
 * The cost of a write follows its own points, not the history stored: each
 * stored point keeps its increment (what it adds to its minute), each
 * cumulative run keeps its head (its latest point), and every read of
 * ingest_points is bounded below by the write's earliest point, so DuckDB
 * skips the older row groups of the time-ordered table. Only a cumulative
 * point older than its run's head (out of order) looks further back, for the
 * one point before it.
 */

const q = (identifier: string): string => `"${identifier}"`;
const LABELS = LABEL_COLUMNS.map(q);
const LABEL_DDL = LABELS.map((c) => `${c} VARCHAR`).join(', ');
const NS_PER_MINUTE = '60000000000';
const IDENTITY = 'series, temporality, start_ns, time_ns';
const RUN = 'series, temporality, start_ns';
/** The columns of a stored point after its identity (ingest_points and the temporary tables alike). */
const DETAIL = `tenant_id, resource_id, metric, ${LABELS.join(', ')}, value`;

/**
 * Every point received, once, with its increment: a repeat (a retried
 * request) is found and dropped before it is stored. No primary key: an
 * index over every point would hold them all in memory.
 */
export const POINTS_DDL = `CREATE TABLE IF NOT EXISTS ingest_points (series VARCHAR NOT NULL, temporality VARCHAR NOT NULL,
  start_ns BIGINT NOT NULL, time_ns BIGINT NOT NULL, tenant_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL,
  metric VARCHAR NOT NULL, ${LABEL_DDL}, value DOUBLE NOT NULL, increment DOUBLE NOT NULL)`;

/** The latest point of each cumulative run: the previous point of the next one, in order. */
export const RUNS_DDL = `CREATE TABLE IF NOT EXISTS ingest_runs (series VARCHAR NOT NULL, temporality VARCHAR NOT NULL,
  start_ns BIGINT NOT NULL, time_ns BIGINT NOT NULL, value DOUBLE NOT NULL, PRIMARY KEY (series, temporality, start_ns))`;

/** The points of the writes in one transaction, appended by the writer (a temporary table of its connection); `request` numbers the write. */
export const BATCH_DDL = `CREATE OR REPLACE TEMP TABLE ingest_batch (request INTEGER, series VARCHAR, temporality VARCHAR, start_ns BIGINT,
  time_ns BIGINT, resource_id VARCHAR, metric VARCHAR, ${LABEL_DDL}, value DOUBLE)`;

/** Each write's scope: the tenant whose clusters it may write, or NULL for every registered cluster (a collector). */
export const SCOPES_DDL = 'CREATE OR REPLACE TEMP TABLE ingest_scopes (request INTEGER, tenant_id VARCHAR)';

/** The registry's clusters each write may write: r is resources, s the write's scope. */
const WRITABLE = '(s.tenant_id IS NULL OR r.tenant_id = s.tenant_id)';

/** Points per write and cluster that the write's scope may not write: unknown clusters and other tenants' alike. */
export const REFUSED_SQL = `SELECT b.request, b.resource_id, count(*) AS n FROM ingest_batch b JOIN ingest_scopes s USING (request)
  LEFT JOIN resources r ON r.resource_id = b.resource_id AND ${WRITABLE}
  WHERE r.resource_id IS NULL GROUP BY ALL ORDER BY b.request, b.resource_id`;

/**
 * The writable points, each identity once (the larger value of a repeat
 * that differs, in one write or across the writes), with the tenant the
 * registry gives their cluster.
 */
export const ACCEPTED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_accepted AS
  SELECT series, temporality, start_ns, time_ns, any_value(r.tenant_id) AS tenant_id, b.resource_id, metric,
    ${LABELS.map((c) => `any_value(b.${c}) AS ${c}`).join(', ')}, max(b.value) AS value
  FROM ingest_batch b JOIN ingest_scopes s USING (request) JOIN resources r ON r.resource_id = b.resource_id AND ${WRITABLE}
  GROUP BY series, temporality, start_ns, time_ns, b.resource_id, metric`;

/** The accepted points' time range, the lower bound of every read below (one parameter pair: lo, hi). */
export const ACCEPTED_RANGE_SQL = 'SELECT min(time_ns) AS lo, max(time_ns) AS hi, count(*) AS n FROM ingest_accepted';

/**
 * What is new: accepted points not stored yet, or stored with a smaller
 * value (`replaces`: the stored one goes). A repeat adds nothing.
 */
export const NEW_SQL = `CREATE OR REPLACE TEMP TABLE ingest_new AS
  SELECT a.*, p.value IS NOT NULL AS replaces FROM ingest_accepted a
  LEFT JOIN (SELECT ${IDENTITY}, value FROM ingest_points WHERE time_ns >= ? AND time_ns <= ?) p USING (${IDENTITY})
  WHERE p.value IS NULL OR a.value > p.value`;

export const NEW_COUNT_SQL = 'SELECT count(*) AS n, count(*) FILTER (WHERE replaces) AS replaced FROM ingest_new';

export const DROP_REPLACED_SQL = `DELETE FROM ingest_points p USING ingest_new n
  WHERE p.time_ns >= ? AND p.time_ns <= ? AND n.replaces AND ${IDENTITY.split(', ')
    .map((c) => `p.${c} = n.${c}`)
    .join(' AND ')}`;

/**
 * Per cumulative run the write adds to: its earliest new point, and the
 * previous point known without a search (the run's head, when the new
 * points all follow it; none for a new run). `search` marks the others.
 */
export const RUNS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_new_runs AS
  SELECT n.series, n.temporality, n.start_ns, min(n.time_ns) AS first_ns, any_value(h.time_ns) AS head_ns,
    any_value(h.value) AS head_value, coalesce(any_value(h.time_ns) >= min(n.time_ns), FALSE) AS search
  FROM ingest_new n LEFT JOIN ingest_runs h USING (${RUN}) WHERE n.temporality = 'cumulative' GROUP BY ALL`;

/** Out of order: the last stored point before the earliest new one, for the runs that need it (a scan of those runs). */
export const SEARCH_PREVIOUS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_searched AS
  SELECT p.series, p.temporality, p.start_ns, max(p.time_ns) AS time_ns, arg_max(p.value, p.time_ns) AS value
  FROM ingest_points p JOIN ingest_new_runs r USING (${RUN}) WHERE r.search AND p.time_ns < r.first_ns GROUP BY ALL`;

export const NO_SEARCH_SQL =
  'CREATE OR REPLACE TEMP TABLE ingest_searched (series VARCHAR, temporality VARCHAR, start_ns BIGINT, time_ns BIGINT, value DOUBLE)';

/**
 * The new points' increments, and the stored points whose increment they
 * change (a new point before a stored one of its run): each cumulative
 * point counts from the previous point of its run, or whole after a reset.
 * `stored` rows exist already; the others are new.
 */
export const INCREMENTS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_increments AS
  WITH sequence AS (
    SELECT ${RUN}, time_ns, value, NULL::DOUBLE AS old_increment, 'previous' AS role FROM ingest_searched
    UNION ALL SELECT ${RUN}, head_ns, head_value, NULL, 'previous' FROM ingest_new_runs WHERE NOT search AND head_ns IS NOT NULL
    UNION ALL SELECT p.series, p.temporality, p.start_ns, p.time_ns, p.value, p.increment, 'stored'
      FROM ingest_points p SEMI JOIN ingest_new_runs r ON p.series = r.series AND p.temporality = r.temporality
        AND p.start_ns = r.start_ns AND r.search AND p.time_ns > r.first_ns
      WHERE p.time_ns >= ?
    UNION ALL SELECT ${RUN}, time_ns, value, NULL, 'new' FROM ingest_new WHERE temporality = 'cumulative'),
  ordered AS (SELECT *, lag(value) OVER (PARTITION BY ${RUN} ORDER BY time_ns) AS previous FROM sequence)
  SELECT ${RUN}, time_ns, role, CASE WHEN previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END AS increment
  FROM ordered WHERE role = 'new' OR (role = 'stored' AND old_increment IS DISTINCT FROM
    CASE WHEN previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END)`;

export const STORE_POINTS_SQL = `INSERT INTO ingest_points
  SELECT n.${IDENTITY.split(', ').join(', n.')}, ${DETAIL.split(', ')
    .map((c) => `n.${c}`)
    .join(', ')}, coalesce(i.increment, n.value)
  FROM ingest_new n LEFT JOIN ingest_increments i USING (${IDENTITY}) ORDER BY n.time_ns`;

export const UPDATE_STORED_SQL = `UPDATE ingest_points p SET increment = i.increment FROM ingest_increments i
  WHERE p.time_ns >= ? AND i.role = 'stored' AND ${IDENTITY.split(', ')
    .map((c) => `p.${c} = i.${c}`)
    .join(' AND ')}`;

export const UPDATE_HEADS_SQL = `INSERT INTO ingest_runs
  SELECT ${RUN}, max(time_ns), arg_max(value, time_ns) FROM ingest_new WHERE temporality = 'cumulative' GROUP BY ALL
  ON CONFLICT DO UPDATE SET value = CASE WHEN excluded.time_ns >= ingest_runs.time_ns THEN excluded.value ELSE ingest_runs.value END,
    time_ns = greatest(ingest_runs.time_ns, excluded.time_ns)`;

/** The series-minutes whose rows the write changes: its new points', and those of stored points it re-counted. */
export const TOUCHED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_touched AS
  SELECT DISTINCT series, time_ns // ${NS_PER_MINUTE} AS minute FROM ingest_new
  UNION SELECT series, time_ns // ${NS_PER_MINUTE} FROM ingest_increments WHERE role = 'stored'`;

export const TOUCHED_RANGE_SQL = `SELECT min(minute) * ${NS_PER_MINUTE} AS lo, (max(minute) + 1) * ${NS_PER_MINUTE} AS hi FROM ingest_touched`;

/**
 * The rows of the touched minutes, by the rule: a gauge's last point by
 * (time, start, value); a counter's increments summed.
 */
export const DERIVED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_derived AS
  WITH points AS (SELECT p.*, p.time_ns // ${NS_PER_MINUTE} AS minute FROM ingest_points p WHERE p.time_ns >= ? AND p.time_ns < ?)
  SELECT epoch_ms(CAST(minute * 60000 AS BIGINT)) AS __time, any_value(tenant_id) AS tenant_id, any_value(resource_id) AS resource_id,
    any_value(metric) AS metric, ${LABELS.map((c) => `any_value(${c}) AS ${c}`).join(', ')},
    CASE WHEN any_value(temporality) = 'gauge' THEN arg_max(value, (time_ns, start_ns, value)) ELSE sum(increment) END AS value
  FROM points SEMI JOIN ingest_touched USING (series, minute) GROUP BY series, minute`;

export const DERIVED_RANGE_SQL = `SELECT CAST(epoch_ms(min(__time)) AS BIGINT) AS lo, CAST(epoch_ms(max(__time)) AS BIGINT) AS hi,
  count(*) AS n FROM ingest_derived`;

/** Drops the raw rows of the touched series-minutes (the time range lets DuckDB skip the other row groups of the time-ordered table). */
export const DELETE_RAW_SQL = `DELETE FROM telemetry_raw t USING ingest_derived d
  WHERE t.__time >= epoch_ms(CAST(? AS BIGINT)) AND t.__time <= epoch_ms(CAST(? AS BIGINT))
    AND t.__time = d.__time AND t.resource_id = d.resource_id AND t.metric = d.metric
    AND ${LABELS.map((c) => `t.${c} IS NOT DISTINCT FROM d.${c}`).join(' AND ')}`;

export const INSERT_RAW_SQL = `INSERT INTO telemetry_raw SELECT __time, tenant_id, resource_id, metric, ${LABELS.join(', ')}, value
  FROM ingest_derived ORDER BY __time, resource_id, metric`;

/**
 * Minutes a write changed below a rollup's watermark (late data): their
 * buckets are built already, so the aggregator rebuilds them. Written in the
 * write's transaction, so a crash between commit and rebuild loses nothing.
 */
export const LATE_DDL = 'CREATE TABLE IF NOT EXISTS ingest_late (minute_ms BIGINT PRIMARY KEY)';

export const MARK_LATE_SQL = `INSERT INTO ingest_late SELECT DISTINCT CAST(epoch_ms(__time) AS BIGINT) FROM ingest_derived
  WHERE epoch_ms(__time) < (SELECT coalesce(max(watermark_ms), 0) FROM strata_watermarks) ON CONFLICT DO NOTHING`;

/** Takes every late minute at once: writes after it mark theirs anew, for the next rebuild. */
export const TAKE_LATE_SQL = 'DELETE FROM ingest_late RETURNING minute_ms';
