import { LABEL_COLUMNS, MINUTE_MS } from '../../catalog/catalog.ts';

/** Shape of a synthetic dataset; the same options give the same rows. */
export interface SeedOptions {
  readonly seed: number;
  readonly tenants: number;
  readonly clusters: number; // per tenant
  readonly topics: number; // per cluster
  readonly partitions: number; // per topic
  readonly days: number;
  readonly end: number; // epoch ms, exclusive; floored to the minute
}

export const DEFAULT_SEED: Omit<SeedOptions, 'end'> = { seed: 42, tenants: 3, clusters: 2, topics: 4, partitions: 3, days: 3 };

const TOPIC_NAMES = ['orders', 'payments', 'clicks', 'inventory', 'shipments', 'audit', 'users', 'sessions'];
const REQUEST_TYPES = ['Produce', 'Fetch', 'Metadata', 'OffsetCommit'];
const CONSUMER_GROUPS = ['billing-service', 'analytics'];

/**
 * A portable integer mix (no engine hash function, whose output may change
 * between versions): keeps every product below 2^63.
 */
const MACROS = [
  `CREATE OR REPLACE TEMP MACRO mix(x) AS ((CAST(x AS BIGINT) % 4294967291) * 1103515245 + 12345) % 4294967291`,
  `CREATE OR REPLACE TEMP MACRO mix2(a, b) AS mix(mix(a) + b)`,
  // Diurnal shape in [0.5, 1.5]: traffic peaks mid-day UTC.
  `CREATE OR REPLACE TEMP MACRO diurnal(m) AS 1.0 + 0.5 * sin(2 * pi() * ((m % 1440) - 360) / 1440.0)`,
];

function listSql(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}

/**
 * Statements that fill `telemetry_raw` and `resources`. Generated inside the
 * engine (range joins) so that tens of millions of rows take seconds. Values
 * are whole numbers, so sums are exact in any order; about 1% of series-minutes
 * are missing, so gauge coverage differs between series as in real data.
 */
export function seedStatements(o: SeedOptions): string[] {
  const minutes = o.days * 1440;
  const endMin = Math.floor(o.end / MINUTE_MS);
  const startMin = endMin - minutes;
  const clusters = `SELECT t.i AS ti, c.i AS ci, 't-' || t.i AS tenant_id,
      'lkc-' || lpad(printf('%x', mix2(${o.seed} * 1000 + t.i, c.i) % 1048576), 5, '0') AS resource_id
    FROM range(1, ${o.tenants + 1}) t(i), range(0, ${o.clusters}) c(i)`;
  const topics = `SELECT k.i AS ki, ${listSql(TOPIC_NAMES)}[(k.i % ${TOPIC_NAMES.length}) + 1]
      || CASE WHEN k.i >= ${TOPIC_NAMES.length} THEN '-' || CAST(k.i // ${TOPIC_NAMES.length} AS VARCHAR) ELSE '' END AS topic
    FROM range(0, ${o.topics}) k(i)`;
  const mins = `SELECT m.i AS mi FROM range(${startMin}, ${endMin}) m(i)`;
  const ts = `epoch_ms(mi * 60000)`;
  const key = (parts: string) => `mix2(mix2(${o.seed}, ${parts}), mi)`;
  const keep = (parts: string) => `${key(parts)} % 97 <> 0`;
  const row = (metric: string, labels: Record<string, string>, value: string) => {
    // Every label column of the registry, in storage order: a label no seeded metric has stays NULL.
    const col = (c: string) => labels[c] ?? 'CAST(NULL AS VARCHAR)';
    return `${ts}, tenant_id, resource_id, 'io.confluent.kafka.server/${metric}', ${LABEL_COLUMNS.map(col).join(', ')}, CAST(${value} AS DOUBLE)`;
  };
  const insert = (select: string) => `INSERT INTO telemetry_raw ${select}`;
  const counters = ['received_bytes', 'sent_bytes', 'received_records', 'sent_records'].map((metric, n) =>
    insert(`SELECT ${row(metric, { topic: 'topic' }, `floor((${n < 2 ? 40000 : 40} + mix2(ti * 100 + ci, ki * 10 + ${n}) % ${n < 2 ? 400000 : 400}) * diurnal(mi) + ${key(`ti * 100000 + ci * 1000 + ki * 10 + ${n}`)} % ${n < 2 ? 5000 : 50})`)}
      FROM (${clusters}), (${topics}), (${mins}) WHERE ${keep(`ti * 100000 + ci * 1000 + ki * 10 + ${n}`)}`),
  );
  return [
    ...MACROS,
    `INSERT INTO resources SELECT tenant_id, resource_id FROM (${clusters}) ORDER BY tenant_id, resource_id`,
    ...counters,
    insert(`SELECT ${row('request_count', { request_type: 'rt' }, `floor((50 + mix2(ti * 100 + ci, ri) % 500) * diurnal(mi) + ${key('ti * 100000 + ci * 1000 + ri * 7 + 5')} % 20)`)}
      FROM (${clusters}), (SELECT r.i AS ri, ${listSql(REQUEST_TYPES)}[r.i + 1] AS rt FROM range(0, ${REQUEST_TYPES.length}) r(i)), (${mins})
      WHERE ${keep('ti * 100000 + ci * 1000 + ri * 7 + 5')}`),
    insert(`SELECT ${row('retained_bytes', { topic: 'topic', partition: 'CAST(pi AS VARCHAR)' }, `1000000 + mix2(ti * 100 + ci, ki * 100 + pi) % 50000000 + (mi - ${startMin}) * (100 + mix2(ki, pi) % 900) + ${key('ti * 100000 + ci * 1000 + ki * 100 + pi + 6')} % 10000`)}
      FROM (${clusters}), (${topics}), (SELECT p.i AS pi FROM range(0, ${o.partitions}) p(i)), (${mins})
      WHERE ${keep('ti * 100000 + ci * 1000 + ki * 100 + pi + 6')}`),
    insert(`SELECT ${row('active_connection_count', {}, `floor((20 + mix2(ti, ci) % 200) * diurnal(mi)) + ${key('ti * 1000 + ci * 10 + 7')} % 15`)}
      FROM (${clusters}), (${mins}) WHERE ${keep('ti * 1000 + ci * 10 + 7')}`),
    insert(`SELECT ${row('partition_count', {}, `${o.topics * o.partitions} + CASE WHEN (mi // 1440) % 2 = 1 THEN mix2(ti, ci) % 3 ELSE 0 END`)}
      FROM (${clusters}), (${mins}) WHERE ${keep('ti * 1000 + ci * 10 + 8')}`),
    insert(`SELECT ${row('consumer_lag_offsets', { consumer_group_id: 'cg', topic: 'topic' }, `${key('ti * 100000 + ci * 1000 + gi * 10 + ki + 9')} % 5000`)}
      FROM (${clusters}), (SELECT g.i AS gi, ${listSql(CONSUMER_GROUPS)}[g.i + 1] AS cg FROM range(0, ${CONSUMER_GROUPS.length}) g(i)),
        (${topics}), (${mins}) WHERE ki < 2 AND ${keep('ti * 100000 + ci * 1000 + gi * 10 + ki + 9')}`),
    ...TIME_ORDER,
  ];
}

/**
 * The inserts above write metric by metric, series by series, so every row
 * group spans the whole time range and a read of the last hour scans the
 * table. Stored in time order instead (as Druid stores segments by time), a
 * time-bounded read skips the row groups outside its range by their min/max.
 */
const ORDER = 'ORDER BY __time, metric, tenant_id, resource_id';
const TIME_ORDER = [
  `CREATE TEMP TABLE seed_in_time_order AS SELECT * FROM telemetry_raw ${ORDER}`,
  'DELETE FROM telemetry_raw',
  `INSERT INTO telemetry_raw SELECT * FROM seed_in_time_order ${ORDER}`,
  'DROP TABLE seed_in_time_order',
];
