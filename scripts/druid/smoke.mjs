#!/usr/bin/env node
// Smoke test / measurement for the private Druid cluster started by scripts/druid.sh.
//
//   node scripts/druid/smoke.mjs [--rows N] [--datasource NAME] [--no-cancel] [--wait sql|loadstatus]
//
// Reads DRUID_URL / DRUID_COORDINATOR_URL from the environment, else from `scripts/druid.sh env`.
// Steps (each prints timings and the raw HTTP shapes seen):
//   1. MSQ REPLACE INTO <ds> OVERWRITE ALL ... FROM TABLE(EXTERN(inline JSON)) via POST /druid/v2/sql/task
//   2. poll GET /druid/indexer/v1/task/<id>/status (overlord) until SUCCESS
//   3. poll POST /druid/v2/sql until the new rows are visible (batch marker + row count)
//   4. parameterised query with context {sqlQueryId, timeout, priority}
//   5. error shape for an unknown column
//   6. cancel a slow query (8-way self cross join on the table) with DELETE /druid/v2/sql/<sqlQueryId>
// Exits non-zero on any failure. Needs Node >= 18 (global fetch); no dependencies.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROWS = Number(opt('--rows', '12'));
const DS = opt('--datasource', 'telemetry_raw');
const DO_CANCEL = !args.includes('--no-cancel');
// sql: poll the SQL count of this batch's rows (robust). loadstatus: poll the coordinator's
// loadstatus until 100.0, then check once that SQL already sees the rows.
const WAIT = opt('--wait', 'sql');

function urls() {
  let druid = process.env.DRUID_URL;
  let coord = process.env.DRUID_COORDINATOR_URL;
  if (!druid || !coord) {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const out = execFileSync('bash', [path.join(here, '..', 'druid.sh'), 'env'], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [k, v] = line.split('=');
      if (k === 'DRUID_URL') druid ??= v;
      if (k === 'DRUID_COORDINATOR_URL') coord ??= v;
    }
  }
  return { druid, coord };
}
const { druid: DRUID_URL, coord: COORD_URL } = urls();
const t0 = Date.now();
const ms = () => `${((Date.now() - t0) / 1000).toFixed(2)}s`;
const log = (...a) => console.log(`[${ms()}]`, ...a);
const sleep = (n) => new Promise((r) => setTimeout(r, n));
function fail(msg) {
  console.error(`SMOKE FAILED: ${msg}`);
  process.exit(1);
}

async function http(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
const sql = (query, extra = {}) => http('POST', `${DRUID_URL}/druid/v2/sql`, { query, ...extra });

// --- 1. MSQ REPLACE -------------------------------------------------------
const batch = `b${Date.now()}`;
const base = Date.parse('2024-01-01T00:00:00Z');
const rows = [];
for (let i = 0; i < ROWS; i++) {
  rows.push({
    ts: new Date(base + i * 60_000).toISOString(),
    tenant_id: i % 2 ? 't-1' : 't-2',
    resource_id: `r-${i % 3}`,
    metric: i % 4 < 2 ? 'cpu' : 'mem',
    topic: `telemetry.${batch}`, // marks this batch: lets us see when *these* rows are queryable
    partition: String(i % 2),
    value: i * 1.5,
  });
}
const sqlString = (s) => `'${s.replace(/'/g, "''")}'`;
const inputSource = JSON.stringify({ type: 'inline', data: rows.map((r) => JSON.stringify(r)).join('\n') });
const inputFormat = JSON.stringify({ type: 'json' });
const signature = JSON.stringify([
  { name: 'ts', type: 'string' },
  { name: 'tenant_id', type: 'string' },
  { name: 'resource_id', type: 'string' },
  { name: 'metric', type: 'string' },
  { name: 'topic', type: 'string' },
  { name: 'partition', type: 'string' },
  { name: 'value', type: 'double' },
]);
const replace = `REPLACE INTO "${DS}" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS "__time", "tenant_id", "resource_id", "metric", "topic", "partition", "value"
FROM TABLE(EXTERN(${sqlString(inputSource)}, ${sqlString(inputFormat)}, ${sqlString(signature)}))
PARTITIONED BY DAY`;

log(`DRUID_URL=${DRUID_URL} DRUID_COORDINATOR_URL=${COORD_URL}; ${ROWS} rows into "${DS}" (batch ${batch})`);
const tSubmit = Date.now();
const submit = await http('POST', `${DRUID_URL}/druid/v2/sql/task`, {
  query: replace,
  context: { maxNumTasks: 2 },
});
log(`POST /druid/v2/sql/task -> HTTP ${submit.status} ${submit.text}`);
if (submit.status !== 202 || !submit.json?.taskId) fail('task submit');
const taskId = submit.json.taskId;

// --- 2. task status ----------------------------------------------------------
let status;
for (;;) {
  status = await http('GET', `${COORD_URL}/druid/indexer/v1/task/${encodeURIComponent(taskId)}/status`);
  const code = status.json?.status?.statusCode;
  if (code === 'SUCCESS' || code === 'FAILED') break;
  if (Date.now() - tSubmit > 180_000) fail(`task ${taskId} not done after 180s: ${status.text}`);
  await sleep(250);
}
const tSuccess = Date.now();
log(`GET /druid/indexer/v1/task/${taskId}/status -> HTTP ${status.status} ${status.text}`);
if (status.json.status.statusCode !== 'SUCCESS') {
  const report = await http('GET', `${COORD_URL}/druid/indexer/v1/task/${encodeURIComponent(taskId)}/reports`);
  fail(`task failed: ${status.json.status.errorMsg}\n${report.text.slice(0, 2000)}`);
}

// --- 3. wait until the new rows are queryable ---------------------------------
let seen;
let polls = 0;
const countBatch = () =>
  sql(`SELECT COUNT(*) AS "n" FROM "${DS}" WHERE "topic" = ?`, {
    parameters: [{ type: 'VARCHAR', value: `telemetry.${batch}` }],
  });
if (WAIT === 'loadstatus') {
  for (;;) {
    polls++;
    const ls = await http(
      'GET',
      `${COORD_URL}/druid/coordinator/v1/datasources/${DS}/loadstatus?forceMetadataRefresh=true&interval=1970-01-01/2100-01-01`,
    );
    if (ls.status === 200 && ls.json?.[DS] === 100) break;
    if (Date.now() - tSuccess > 120_000) fail(`loadstatus not 100 after 120s: ${ls.status} ${ls.text}`);
    await sleep(250);
  }
  const tLoaded = Date.now();
  const once = await countBatch();
  console.log(
    `LOADSTATUS 100 after ${(tLoaded - tSuccess) / 1000}s (${polls} polls); SQL right after: HTTP ${once.status} ${once.text.trim()}`,
  );
  polls = 0;
}
for (;;) {
  polls++;
  seen = await countBatch();
  if (seen.status === 200 && seen.json?.[0]?.n === ROWS) break;
  if (Date.now() - tSuccess > 120_000) fail(`rows not queryable 120s after SUCCESS: ${seen.status} ${seen.text}`);
  await sleep(250);
}
const tQueryable = Date.now();
const load = await http(
  'GET',
  `${COORD_URL}/druid/coordinator/v1/datasources/${DS}/loadstatus?forceMetadataRefresh=true&interval=1970-01-01/2100-01-01`,
);
log(`loadstatus -> HTTP ${load.status} ${load.text}`);
console.log(
  `TIMING submit->SUCCESS ${(tSuccess - tSubmit) / 1000}s, SUCCESS->queryable ${(tQueryable - tSuccess) / 1000}s ` +
    `(${polls} polls), submit->queryable ${(tQueryable - tSubmit) / 1000}s`,
);

// --- 4. dynamic parameters + context -----------------------------------------
const q = await sql(
  `SELECT "tenant_id", "metric", COUNT(*) AS "n", SUM("value") AS "total", MIN("value") AS "min_value"
   FROM "${DS}" WHERE "tenant_id" = ? AND "__time" >= ? GROUP BY 1, 2 ORDER BY 2`,
  {
    parameters: [
      { type: 'VARCHAR', value: 't-1' },
      { type: 'TIMESTAMP', value: '2024-01-01 00:00:00' },
    ],
    context: { sqlQueryId: `smoke-param-${batch}`, timeout: 10_000, priority: 10 },
    resultFormat: 'array',
    header: true,
    typesHeader: true,
    sqlTypesHeader: true,
  },
);
log(`parameterised query -> HTTP ${q.status} X-Druid-SQL-Query-Id=${q.headers.get('x-druid-sql-query-id')} ${q.text}`);
if (q.status !== 200) fail('parameterised query');

// --- 5. error shape -------------------------------------------------------------
const bad = await sql(`SELECT "no_such_column" FROM "${DS}"`);
log(`bad column -> HTTP ${bad.status} ${bad.text}`);
if (bad.status !== 400 || bad.json?.category !== 'INVALID_INPUT') fail('bad column error shape');

// --- 6. cancellation -------------------------------------------------------------
if (DO_CANCEL) {
  // 8-way self cross join: ROWS^8 rows (12^8 = 430M) - tens of seconds on the historical.
  // Must read a real datasource: a query over inline VALUES only runs inside the broker and
  // ignores cancellation (observed on 27.0.0).
  let slowSql = `SELECT COUNT(*) AS "n" FROM "${DS}" t0`;
  for (let i = 1; i < 8; i++) slowSql += ` CROSS JOIN "${DS}" t${i}`;
  const qid = `smoke-slow-${batch}`;
  const tSlow = Date.now();
  const slow = sql(slowSql, { context: { sqlQueryId: qid, timeout: 120_000 } });
  await sleep(2_000);
  const del = await http('DELETE', `${DRUID_URL}/druid/v2/sql/${qid}`);
  log(`DELETE /druid/v2/sql/${qid} -> HTTP ${del.status} body=${JSON.stringify(del.text)}`);
  const res = await slow;
  log(`cancelled query -> HTTP ${res.status} after ${(Date.now() - tSlow) / 1000}s ${res.text}`);
  const del2 = await http('DELETE', `${DRUID_URL}/druid/v2/sql/${qid}`);
  log(`second DELETE -> HTTP ${del2.status} (404 = no such running query)`);
  if (del.status !== 202 || res.json?.category !== 'CANCELED' || del2.status !== 404) fail('cancellation');
}
console.log('SMOKE OK');
