import { LABEL_COLUMNS } from '../../catalog/catalog.ts';

/*
 * The tables of received points, and the SQL way of a write (for the
 * series point-write-plan.ts does not write the fast way: repeats, points
 * out of order, an older run resumed), statement by statement in the order
 * duckdb-point-writer.ts runs them. The derivation is ingest/derive-raw-rows.ts's
 * rule, computed for the series and minutes a write touched;
 * test/ingest-point-writer.test.ts checks the two agree on random point sets.
 *
 * Points are narrow (a series id, times, value, increment): a write's cost is
 * mostly appending them, and each stored point keeps its increment (what it
 * adds to its minute), so a raw row is re-derived from its minute's points
 * alone. Every read of ingest_points is bounded below by the write's
 * earliest point, so DuckDB skips the older row groups of the time-ordered
 * table; only a cumulative point older than its run's head looks further
 * back, for the one point before it.
 */

const q = (identifier: string): string => `"${identifier}"`;
const LABELS = LABEL_COLUMNS.map(q);
const LABEL_DDL = LABELS.map((c) => `${c} VARCHAR`).join(', ');
const NS_PER_MINUTE = '60000000000';
const IDENTITY = 'series_id, temporality, start_ns, time_ns';
const RUN = 'series_id, temporality, start_ns';
/** A minute's raw value from its points (columns of `p`), by the rule: a gauge's last point by (time, start, value); a counter's increments summed. */
const minuteValue = (p: string): string =>
  `CASE WHEN any_value(${p}.temporality) = 'gauge' THEN arg_max(${p}.value, (${p}.time_ns, ${p}.start_ns, ${p}.value)) ELSE sum(${p}.increment) END`;

/** A series' latest point of its points `p` (any temporality), and its latest cumulative point: what a head holds. */
const latest = (p: string): string => `max(${p}.time_ns) AS time_ns,
  max(${p}.time_ns) FILTER (WHERE ${p}.temporality = 'cumulative') AS cum_time_ns,
  arg_max(${p}.start_ns, ${p}.time_ns) FILTER (WHERE ${p}.temporality = 'cumulative') AS cum_start_ns,
  arg_max(${p}.value, ${p}.time_ns) FILTER (WHERE ${p}.temporality = 'cumulative') AS cum_value`;

const matching = (a: string, b: string, columns: string): string =>
  columns
    .split(', ')
    .map((c) => `${a}.${c} = ${b}.${c}`)
    .join(' AND ');

/**
 * Every series received: its key (ingest/ingest-point.ts seriesKey), what
 * its raw rows carry, and its head (the latest point, its minute's raw
 * value, the latest cumulative point): what the fast way needs to know.
 */
export const SERIES_DDL = `CREATE TABLE IF NOT EXISTS ingest_series (series_id INTEGER PRIMARY KEY, series VARCHAR NOT NULL UNIQUE,
  tenant_id VARCHAR NOT NULL, resource_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, ${LABEL_DDL},
  time_ns BIGINT, minute_value DOUBLE, cum_start_ns BIGINT, cum_time_ns BIGINT, cum_value DOUBLE)`;

/** The columns of ingest_series a new series is appended with (its head comes with its points). */
export const SERIES_COLUMNS = ['series_id', 'series', 'tenant_id', 'resource_id', 'metric', ...LABEL_COLUMNS] as const;

/** Every point received, once, with its increment; no primary key (an index over every point would hold them all in memory). */
export const POINTS_DDL = `CREATE TABLE IF NOT EXISTS ingest_points (series_id INTEGER NOT NULL, temporality VARCHAR NOT NULL,
  start_ns BIGINT NOT NULL, time_ns BIGINT NOT NULL, value DOUBLE NOT NULL, increment DOUBLE NOT NULL)`;

/** The SQL way's points (each identity once), appended by the writer to a temporary table of its connection. */
export const BATCH_DDL = `CREATE OR REPLACE TEMP TABLE ingest_batch (series_id INTEGER, temporality VARCHAR, start_ns BIGINT,
  time_ns BIGINT, value DOUBLE)`;

/** The batch's time range, the lower bound of every read below (one parameter pair: lo, hi). */
export const BATCH_RANGE_SQL = 'SELECT min(time_ns) AS lo, max(time_ns) AS hi FROM ingest_batch';

/**
 * What is new: points not stored yet, or stored with a smaller value
 * (`replaces`: the stored one goes). A repeat adds nothing.
 */
export const NEW_SQL = `CREATE OR REPLACE TEMP TABLE ingest_new AS
  SELECT a.*, p.value IS NOT NULL AS replaces FROM ingest_batch a
  LEFT JOIN (SELECT ${IDENTITY}, value FROM ingest_points WHERE time_ns >= ? AND time_ns <= ?) p USING (${IDENTITY})
  WHERE p.value IS NULL OR a.value > p.value`;

export const NEW_COUNT_SQL = 'SELECT count(*) AS n, count(*) FILTER (WHERE replaces) AS replaced FROM ingest_new';

export const DROP_REPLACED_SQL = `DELETE FROM ingest_points p USING ingest_new n
  WHERE p.time_ns >= ? AND p.time_ns <= ? AND n.replaces AND ${matching('p', 'n', IDENTITY)}`;

/**
 * Per cumulative run the write adds to: its earliest new point, and the
 * previous point known without a search: the series' latest cumulative
 * point when it is of this run and before the new points; none for a run
 * that starts after every stored point of the series (a new run). `search`
 * marks the others.
 */
export const RUNS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_new_runs AS
  SELECT n.series_id, n.temporality, n.start_ns, min(n.time_ns) AS first_ns,
    any_value(CASE WHEN s.cum_start_ns = n.start_ns THEN s.cum_time_ns END) AS head_ns,
    any_value(CASE WHEN s.cum_start_ns = n.start_ns THEN s.cum_value END) AS head_value,
    NOT (coalesce(any_value(s.cum_start_ns = n.start_ns), FALSE) AND any_value(s.cum_time_ns) < min(n.time_ns))
      AND NOT coalesce(any_value(s.time_ns) < n.start_ns, TRUE) AS search
  FROM ingest_new n JOIN ingest_series s USING (series_id) WHERE n.temporality = 'cumulative' GROUP BY n.series_id, n.temporality, n.start_ns`;

/** Out of order: the last stored point before the earliest new one, for the runs that need it (a scan of those runs). */
export const SEARCH_PREVIOUS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_searched AS
  SELECT p.series_id, p.temporality, p.start_ns, max(p.time_ns) AS time_ns, arg_max(p.value, p.time_ns) AS value
  FROM ingest_points p JOIN ingest_new_runs r USING (${RUN}) WHERE r.search AND p.time_ns < r.first_ns GROUP BY ALL`;

export const NO_SEARCH_SQL =
  'CREATE OR REPLACE TEMP TABLE ingest_searched (series_id INTEGER, temporality VARCHAR, start_ns BIGINT, time_ns BIGINT, value DOUBLE)';

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
    UNION ALL SELECT p.series_id, p.temporality, p.start_ns, p.time_ns, p.value, p.increment, 'stored'
      FROM ingest_points p SEMI JOIN ingest_new_runs r ON ${matching('p', 'r', RUN)} AND r.search AND p.time_ns > r.first_ns
      WHERE p.time_ns >= ?
    UNION ALL SELECT ${RUN}, time_ns, value, NULL, 'new' FROM ingest_new WHERE temporality = 'cumulative'),
  ordered AS (SELECT *, lag(value) OVER (PARTITION BY ${RUN} ORDER BY time_ns) AS previous FROM sequence)
  SELECT ${RUN}, time_ns, role, CASE WHEN previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END AS increment
  FROM ordered WHERE role = 'new' OR (role = 'stored' AND old_increment IS DISTINCT FROM
    CASE WHEN previous IS NOT NULL AND value >= previous THEN value - previous ELSE value END)`;

export const STORE_POINTS_SQL = `INSERT INTO ingest_points
  SELECT n.series_id, n.temporality, n.start_ns, n.time_ns, n.value, coalesce(i.increment, n.value)
  FROM ingest_new n LEFT JOIN ingest_increments i USING (${IDENTITY}) ORDER BY n.time_ns`;

export const UPDATE_STORED_SQL = `UPDATE ingest_points p SET increment = i.increment FROM ingest_increments i
  WHERE p.time_ns >= ? AND i.role = 'stored' AND ${matching('p', 'i', IDENTITY)}`;

/** The series-minutes whose rows the write changes: its new points', and those of stored points it re-counted. */
export const TOUCHED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_touched AS
  SELECT DISTINCT series_id, time_ns // ${NS_PER_MINUTE} AS minute FROM ingest_new
  UNION SELECT series_id, time_ns // ${NS_PER_MINUTE} FROM ingest_increments WHERE role = 'stored'`;

export const TOUCHED_RANGE_SQL = `SELECT min(minute) * ${NS_PER_MINUTE} AS lo, (max(minute) + 1) * ${NS_PER_MINUTE} AS hi FROM ingest_touched`;

/**
 * The rows of the touched minutes, by the rule: a gauge's last point by
 * (time, start, value); a counter's increments summed. With what the rows
 * carry from their series.
 */
export const DERIVED_SQL = `CREATE OR REPLACE TEMP TABLE ingest_derived AS
  WITH points AS (SELECT p.*, p.time_ns // ${NS_PER_MINUTE} AS minute FROM ingest_points p WHERE p.time_ns >= ? AND p.time_ns < ?),
  minutes AS (SELECT p.series_id, p.minute, ${minuteValue('p')} AS value
    FROM points p SEMI JOIN ingest_touched t USING (series_id, minute) GROUP BY p.series_id, p.minute)
  SELECT m.series_id, m.minute, epoch_ms(CAST(m.minute * 60000 AS BIGINT)) AS __time, s.tenant_id, s.resource_id, s.metric,
    ${LABELS.map((c) => `s.${c}`).join(', ')}, m.value
  FROM minutes m JOIN ingest_series s USING (series_id)`;

export const DERIVED_RANGE_SQL = `SELECT CAST(epoch_ms(min(__time)) AS BIGINT) AS lo, CAST(epoch_ms(max(__time)) AS BIGINT) AS hi,
  count(*) AS n FROM ingest_derived`;

const RAW_MATCH = `t.resource_id = d.resource_id AND t.metric = d.metric AND ${LABELS.map((c) => `t.${c} IS NOT DISTINCT FROM d.${c}`).join(' AND ')}`;

/** Drops the raw rows of the touched series-minutes (the time range lets DuckDB skip the other row groups of the time-ordered table). */
export const DELETE_RAW_SQL = `DELETE FROM telemetry_raw t USING ingest_derived d
  WHERE t.__time >= epoch_ms(CAST(? AS BIGINT)) AND t.__time <= epoch_ms(CAST(? AS BIGINT)) AND t.__time = d.__time AND ${RAW_MATCH}`;

export const INSERT_RAW_SQL = `INSERT INTO telemetry_raw SELECT __time, tenant_id, resource_id, metric, ${LABELS.join(', ')}, value
  FROM ingest_derived ORDER BY __time, resource_id, metric`;

/**
 * The heads of the series the SQL way wrote: the latest point (old or new)
 * and its minute's raw value (derived now if the write touched it, as it
 * did if the latest point is new), and the latest cumulative point.
 */
export const UPDATE_HEADS_SQL = `UPDATE ingest_series s SET time_ns = h.time_ns, minute_value = coalesce(d.value, h.minute_value),
    cum_start_ns = h.cum_start_ns, cum_time_ns = h.cum_time_ns, cum_value = h.cum_value
  FROM (SELECT s.series_id, greatest(n.time_ns, s.time_ns) AS time_ns, s.minute_value,
      CASE WHEN n.cum_time_ns >= coalesce(s.cum_time_ns, n.cum_time_ns) THEN n.cum_start_ns ELSE s.cum_start_ns END AS cum_start_ns,
      greatest(n.cum_time_ns, s.cum_time_ns) AS cum_time_ns,
      CASE WHEN n.cum_time_ns >= coalesce(s.cum_time_ns, n.cum_time_ns) THEN n.cum_value ELSE s.cum_value END AS cum_value
    FROM ingest_series s
    JOIN (SELECT n.series_id, ${latest('n')} FROM ingest_new n GROUP BY n.series_id) n USING (series_id)) h
  LEFT JOIN ingest_derived d ON d.series_id = h.series_id AND d.minute = h.time_ns // ${NS_PER_MINUTE}
  WHERE s.series_id = h.series_id`;

/** The heads of the series the SQL way wrote, to the writer's index once the transaction commits. */
export const HEADS_OF_NEW_SQL = 'SELECT * FROM ingest_series SEMI JOIN (SELECT DISTINCT series_id FROM ingest_new) USING (series_id)';

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

/** The fast way's rows that replace a stored one (a series' latest minute), appended by the writer; then dropped from telemetry_raw. */
export const REPLACED_DDL = 'CREATE OR REPLACE TEMP TABLE ingest_replaced (series_id INTEGER, __time TIMESTAMP)';

export const DELETE_REPLACED_RAW_SQL = `DELETE FROM telemetry_raw t USING (SELECT r.__time, s.* FROM ingest_replaced r JOIN ingest_series s USING (series_id)) d
  WHERE t.__time >= epoch_ms(CAST(? AS BIGINT)) AND t.__time = d.__time AND ${RAW_MATCH}`;

/** Heads the fast way moved since the writer's last checkpoint, appended by the writer; then set on their series. */
export const FAST_HEADS_DDL = `CREATE OR REPLACE TEMP TABLE ingest_fast_heads (series_id INTEGER, time_ns BIGINT, minute_value DOUBLE,
  cum_start_ns BIGINT, cum_time_ns BIGINT, cum_value DOUBLE)`;

export const UPDATE_FAST_HEADS_SQL = `UPDATE ingest_series s SET time_ns = h.time_ns, minute_value = h.minute_value,
    cum_start_ns = h.cum_start_ns, cum_time_ns = h.cum_time_ns, cum_value = h.cum_value
  FROM ingest_fast_heads h WHERE s.series_id = h.series_id`;

/**
 * The heads of series with points after their stored head (the fast way's
 * since the writer's last checkpoint of heads, or every point of a migrated
 * file): the latest point, its minute's raw value by the rule, and the
 * latest cumulative point when one is among them. A full scan of the points,
 * once when the writer opens.
 */
export const RECOVERED_HEADS_SQL = `CREATE OR REPLACE TEMP TABLE ingest_recovered AS
  WITH later AS (
    SELECT p.series_id, ${latest('p')}
    FROM ingest_points p JOIN ingest_series s USING (series_id) WHERE s.time_ns IS NULL OR p.time_ns > s.time_ns GROUP BY p.series_id)
  SELECT l.*, (SELECT ${minuteValue('p')}
      FROM ingest_points p WHERE p.series_id = l.series_id AND p.time_ns // ${NS_PER_MINUTE} = l.time_ns // ${NS_PER_MINUTE}) AS minute_value
  FROM later l`;

export const UPDATE_RECOVERED_HEADS_SQL = `UPDATE ingest_series s SET time_ns = h.time_ns, minute_value = h.minute_value,
    cum_start_ns = CASE WHEN h.cum_time_ns IS NULL THEN s.cum_start_ns ELSE h.cum_start_ns END,
    cum_time_ns = coalesce(h.cum_time_ns, s.cum_time_ns),
    cum_value = CASE WHEN h.cum_time_ns IS NULL THEN s.cum_value ELSE h.cum_value END
  FROM ingest_recovered h WHERE s.series_id = h.series_id`;
