import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ErrorCode, isStrataError } from '../../errors/strata-error.ts';
import { loadConfig } from '../../config/config.ts';
import { createApp } from '../../api/app.ts';
import { DruidClient } from '../../store/druid/druid-client.ts';
import { DruidStore } from '../../store/druid/druid-store.ts';
import { END, execute, principal } from '../helpers/fixture.ts';

/**
 * How druid-client.ts reads answers a real cluster cannot be made to give on
 * demand: both error shapes, 429, 500 JSON, bodies cut off mid-stream, a
 * broker that never answers. The server below only plays back those bytes
 * (on 127.0.0.1); everything else about Druid is tested on a real cluster
 * in test/real/druid-*.test.ts.
 */
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler = (_req, res) => res.end();
const seen: { method: string; url: string; body: string }[] = [];
let server: Server;
let url: string;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
const lines =
  (text: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  };

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

async function codeOf(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return 'ok';
  } catch (error) {
    return isStrataError(error) ? error.code : `plain: ${(error as Error).message}`;
  }
}

test('arrayLines: a complete body parses; the request carries id, timeout, priority and parameters', async () => {
  handler = lines('["a","b"]\n[1,"x"]\n[2,null]\n\n');
  seen.length = 0;
  const client = new DruidClient({ url });
  const rows = await client.sql('SELECT ? AS a', [{ type: 'BIGINT', value: 1 }], { lane: 'customer', queryId: 'q-1', timeoutMs: 1234 });
  assert.deepEqual(rows, [
    { a: 1, b: 'x' },
    { a: 2, b: null },
  ]);
  const sent = JSON.parse(seen[0]?.body ?? '{}') as Record<string, unknown>;
  assert.deepEqual(sent['context'], { sqlQueryId: 'q-1', timeout: 1234, priority: 10 });
  assert.equal(sent['resultFormat'], 'arrayLines');
  assert.deepEqual(sent['parameters'], [{ type: 'BIGINT', value: 1 }]);
  handler = lines('["a"]\n\n');
  assert.deepEqual(await client.sql('SELECT 1', []), [], 'a header and the trailer alone: no rows');
});

test('bodies cut off mid-stream are UPSTREAM_UNAVAILABLE, never partial rows', async () => {
  const client = new DruidClient({ url });
  const cases: [string, Handler][] = [
    ['no closing blank line', lines('["a"]\n[1]\n[2]\n')],
    ['cut after a row without newline', lines('["a"]\n[1]\n[2]')],
    ['cut mid-row', lines('["a","b"]\n[1,"x"]\n[2,"y')],
    ['empty 200', lines('')],
    ['a JSON array instead of lines', lines('[["a"],[1]]')],
    ['a row of the wrong width', lines('["a","b"]\n[1]\n\n')],
    [
      'socket closed mid-body',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('["a"]\n[1]\n');
        setTimeout(() => res.destroy(), 20);
      },
    ],
  ];
  for (const [what, h] of cases) {
    handler = h;
    assert.equal(await codeOf(client.sql('SELECT 1', [])), ErrorCode.UPSTREAM_UNAVAILABLE, what);
  }
});

test('both Druid error shapes, 429 and 500 map to stable codes', async () => {
  const client = new DruidClient({ url });
  const legacy = (error: string, errorClass = 'org.apache.druid.query.QueryException') => ({
    error,
    errorMessage: `${error}: details`,
    errorClass,
    host: null,
  });
  const modern = (category: string, errorCode = 'general') => ({
    error: 'druidException',
    errorCode,
    persona: 'USER',
    category,
    errorMessage: `${category} details`,
    context: {},
  });
  const cases: [string, number, unknown, string][] = [
    ['legacy timeout', 504, legacy('Query timeout', 'org.apache.druid.query.QueryTimeoutException'), ErrorCode.UPSTREAM_TIMEOUT],
    ['legacy cancelled', 500, legacy('Query cancelled'), ErrorCode.UPSTREAM_TIMEOUT],
    [
      'legacy capacity (429)',
      429,
      legacy('Query capacity exceeded', 'org.apache.druid.query.QueryCapacityExceededException'),
      ErrorCode.UPSTREAM_UNAVAILABLE,
    ],
    [
      'legacy resource limit',
      400,
      legacy('Resource limit exceeded', 'org.apache.druid.query.ResourceLimitExceededException'),
      ErrorCode.QUERY_TOO_COMPLEX,
    ],
    ['legacy unknown exception (500)', 500, legacy('Unknown exception', 'java.lang.RuntimeException'), ErrorCode.UPSTREAM_UNAVAILABLE],
    ['druidException TIMEOUT', 504, modern('TIMEOUT'), ErrorCode.UPSTREAM_TIMEOUT],
    ['druidException CANCELED', 500, modern('CANCELED'), ErrorCode.UPSTREAM_TIMEOUT],
    ['druidException CAPACITY_EXCEEDED', 429, modern('CAPACITY_EXCEEDED'), ErrorCode.UPSTREAM_UNAVAILABLE],
    ['druidException RUNTIME_FAILURE', 500, modern('RUNTIME_FAILURE'), ErrorCode.UPSTREAM_UNAVAILABLE],
    ['druidException FORBIDDEN', 403, modern('FORBIDDEN'), ErrorCode.UPSTREAM_UNAVAILABLE],
    ['429 without a body', 429, '', ErrorCode.UPSTREAM_UNAVAILABLE],
    ['503 from a proxy', 503, '<html>busy</html>', ErrorCode.UPSTREAM_UNAVAILABLE],
  ];
  for (const [what, status, body, code] of cases) {
    handler = typeof body === 'string' ? (_req, res) => res.writeHead(status).end(body) : json(status, body);
    assert.equal(await codeOf(client.sql('SELECT 1', [])), code, what);
  }
  // Invalid SQL is a bug of ours in either shape: a plain Error (INTERNAL at the edge) keeping Druid's words.
  for (const body of [
    modern('INVALID_INPUT', 'invalidInput'),
    legacy('Plan validation failed', 'org.apache.calcite.tools.ValidationException'),
  ]) {
    handler = json(400, body);
    const code = await codeOf(client.sql('SELECT nope', []));
    assert.match(code, /^plain: Druid rejected the query \(HTTP 400/);
  }
});

test("a broker that never answers: UPSTREAM_TIMEOUT after Druid's timeout plus a grace, and the query is cancelled", async () => {
  const hung: ServerResponse[] = [];
  handler = (req, res) => {
    if (req.method === 'DELETE') return void res.writeHead(202).end();
    hung.push(res);
  };
  seen.length = 0;
  const client = new DruidClient({ url });
  assert.equal(await codeOf(client.sql('SELECT 1', [], { timeoutMs: 100, queryId: 'hung-1' })), ErrorCode.UPSTREAM_TIMEOUT);
  // The caller's own deadline (the request's AbortSignal) does the same, sooner.
  assert.equal(
    await codeOf(client.sql('SELECT 1', [], { timeoutMs: 60_000, queryId: 'hung-2', signal: AbortSignal.timeout(50) })),
    ErrorCode.UPSTREAM_TIMEOUT,
  );
  for (let i = 0; i < 100 && seen.filter((s) => s.method === 'DELETE').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    seen
      .filter((s) => s.method === 'DELETE')
      .map((s) => s.url)
      .sort(),
    ['/druid/v2/sql/hung-1', '/druid/v2/sql/hung-2'],
  );
  for (const res of hung) res.destroy();
  // Nothing listening at all.
  assert.equal(await codeOf(new DruidClient({ url: 'http://127.0.0.1:1' }).sql('SELECT 1', [])), ErrorCode.UPSTREAM_UNAVAILABLE);
});

test('through the whole service: store errors reach the client with their code and are never cached', async () => {
  const M = 'io.confluent.kafka.server/received_bytes';
  let failWith: Handler | undefined;
  let pieceQueries = 0;
  handler = (req, res, body) => {
    const sql = String((JSON.parse(body || '{}') as { query?: string }).query);
    if (sql.includes('strata_watermarks'))
      return lines(`["datasource","w"]\n["rollup_1h",${END - 7_200_000}]\n["rollup_1d",${END - 86_400_000}]\n\n`)(req, res, body);
    if (sql.includes('"resources"')) return lines('["tenant_id","resource_id"]\n["t-1","lkc-1"]\n\n')(req, res, body);
    pieceQueries += 1;
    if (failWith) return failWith(req, res, body);
    // A valid answer with no rows: the series is empty, which is cacheable like any answer.
    return lines('["branch","bucket","v_sum"]\n\n')(req, res, body);
  };
  const store = new DruidStore({ url, coordinatorUrl: url, timeoutMs: 200 });
  // Five failures in a row would open the store circuit breaker: it is off here, so every attempt
  // reaches the store (the breaker has its own test in test/real/store-faults.test.ts).
  const config = loadConfig(
    {},
    { STRATA_ENV: 'test', STRATA_NOW: new Date(END).toISOString(), STRATA_LOG_LEVEL: 'silent', STRATA_BREAKER_RESET: '0' },
  );
  const app = await createApp(config, { store });
  const doc = `{ timeseries(query: { metric: "${M}", granularity: PT1H, interval: "now-6h/now-3h", filter: { field: "resource_id", op: EQ, value: "lkc-1" } }) {
    series { points { value } } plan { operation { storeQueries cacheHits } } } }`;
  const who = principal('customer', 't-1');
  try {
    const failures: [Handler, string][] = [
      [json(429, { error: 'Query capacity exceeded', errorMessage: 'Too many concurrent queries' }), ErrorCode.UPSTREAM_UNAVAILABLE],
      [
        json(500, {
          error: 'druidException',
          errorCode: 'general',
          persona: 'OPERATOR',
          category: 'RUNTIME_FAILURE',
          errorMessage: 'boom',
        }),
        ErrorCode.UPSTREAM_UNAVAILABLE,
      ],
      [lines('["branch","bucket"]\n["b0",1'), ErrorCode.UPSTREAM_UNAVAILABLE],
      [json(504, { error: 'Query timeout', errorMessage: 'Query [x] timed out' }), ErrorCode.UPSTREAM_TIMEOUT],
      [() => undefined, ErrorCode.UPSTREAM_TIMEOUT],
    ];
    for (const [h, code] of failures) {
      failWith = h;
      const before = pieceQueries;
      const failed = await execute(app, who, doc);
      assert.equal(failed.errors?.[0]?.extensions?.['code'], code);
      assert.equal(pieceQueries, before + 1, 'each failing attempt reached the store: the previous failure was not cached');
    }
    failWith = undefined;
    const ok = await execute(app, who, doc);
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    assert.deepEqual(plain(ok.data?.['timeseries']), { series: [], plan: { operation: { storeQueries: 1, cacheHits: 0 } } });
    const again = await execute(app, who, doc);
    assert.deepEqual(
      plain(again.data?.['timeseries']),
      { series: [], plan: { operation: { storeQueries: 0, cacheHits: 1 } } },
      'the good answer is cached',
    );
  } finally {
    await app.close();
  }
});
