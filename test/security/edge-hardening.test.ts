import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import { post, startReplica, type Replica } from '../helpers/edge-server.ts';

/**
 * Smaller holes one tenant could use against another or against the
 * service: deep input that overflowed the stack, persisted queries shared
 * across tenants, /metrics labels chosen by tenants, cacheable answers.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
let r: Replica;
let cluster: string;

before(async () => {
  store = await seededStore();
  const [row] = await store.read(`SELECT resource_id FROM resources WHERE tenant_id = 't-1' ORDER BY 1 LIMIT 1`, []);
  cluster = String(row?.['resource_id']);
  r = await startReplica(store, { STRATA_METRICS_OPERATIONS: 'FleetOverview' });
});
after(async () => {
  await r.stop();
  await store.close();
});

const panel = (filter: string): string =>
  `query Panel($f: Filter) { timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-6h/now", filter: ${filter} }) { series { points { value } } } }`;

test('input nested thousands deep (a `not` chain of 8,000 in variables) is refused with QUERY_TOO_COMPLEX, not a stack overflow', async () => {
  // Written as text: JSON.stringify itself recurses and would overflow on this.
  const chain = `${'{"not":'.repeat(8000)}{"field":"resource_id","op":"EQ","value":"${cluster}"}${'}'.repeat(8000)}`;
  const token = r.token('customer', 't-1');
  const deep = await post(`${r.base}/graphql`, token, `{"query":${JSON.stringify(panel('$f'))},"variables":{"f":${chain}}}`);
  assert.equal(deep.status, 400);
  assert.equal(deep.code, 'QUERY_TOO_COMPLEX');
  assert.match(deep.body.errors?.[0]?.message ?? '', /nested more than 32 levels deep/);
  // node:http caps a request line and headers at 16 KB: a GET carries a shorter chain.
  const short = `${'{"not":'.repeat(100)}{"field":"resource_id","op":"EQ","value":"${cluster}"}${'}'.repeat(100)}`;
  const url = `${r.base}/graphql?query=${encodeURIComponent(panel('$f'))}&variables=${encodeURIComponent(`{"f":${short}}`)}`;
  const viaGet = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
  assert.equal(viaGet.status, 400, 'in a GET query string too');
  assert.equal(((await viaGet.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'QUERY_TOO_COMPLEX');
  let shallow: Record<string, unknown> = { field: 'resource_id', op: 'EQ', value: cluster };
  for (let i = 0; i < 6; i++) shallow = { not: shallow };
  const fine = await post(`${r.base}/graphql`, token, JSON.stringify({ query: panel('$f'), variables: { f: shallow } }));
  assert.equal(fine.status, 200, 'a filter within its own depth limit (8) is answered');
});

test("persisted queries are off: a hash of another tenant's document tells nothing, for every tenant alike", async () => {
  const document = panel(`{ field: "resource_id", op: EQ, value: "${cluster}" }`);
  const sha256Hash = createHash('sha256').update(document).digest('hex');
  const extensions = { persistedQuery: { version: 1, sha256Hash } };
  const owner = r.token('customer', 't-1');
  const registered = await post(`${r.base}/graphql`, owner, JSON.stringify({ query: document, extensions }));
  const probes = await Promise.all(
    [owner, r.token('customer', 't-2')].map((t) => post(`${r.base}/graphql`, t, JSON.stringify({ extensions }))),
  );
  for (const answer of [registered, ...probes]) assert.equal(answer.code, 'PERSISTED_QUERY_NOT_SUPPORTED');
  assert.deepEqual(probes[0]?.body, probes[1]?.body, 'the owner and a stranger get the same answer');
});

test("/metrics never carries tenant-chosen operation names: only the operator's allow-list is a label value", async () => {
  const token = r.token('customer', 't-1');
  const names = Array.from({ length: 30 }, (_, i) => `Tenant1Secret${i}`);
  for (const name of names) await post(`${r.base}/graphql`, token, JSON.stringify({ query: `query ${name} { metrics { name } }` }));
  await post(`${r.base}/graphql`, r.token('internal'), JSON.stringify({ query: 'query FleetOverview { metrics { name } }' }));
  const text = await (await fetch(`${r.base}/metrics`)).text();
  assert.ok(!text.includes('Tenant1Secret'), 'no tenant-chosen name is published');
  const others = Number(/strata_request_duration_seconds_count\{operation="other",role="customer"\} (\d+)/.exec(text)?.[1]);
  assert.ok(others >= 30, `the 30 names count as "other" (${others})`);
  assert.match(text, /strata_request_duration_seconds_count\{operation="FleetOverview",role="internal"\} 1/);
});

test('answers are never kept by shared caches nor sniffed: Cache-Control no-store and X-Content-Type-Options nosniff', async () => {
  const token = r.token('customer', 't-1');
  const answers = [
    await fetch(`${r.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ resources { id } }' }),
    }),
    await fetch(`${r.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ resources { id } }' }),
    }),
    await fetch(`${r.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
    await fetch(`${r.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"query": "{"}',
    }),
    await fetch(`${r.base}/export?resource.kafka.id=${cluster}`, { headers: { authorization: `Bearer ${token}` } }),
    await fetch(`${r.base}/export?resource.kafka.id=lkc-nope`, { headers: { authorization: `Bearer ${token}` } }),
  ];
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 401, 400, 200, 404],
  );
  for (const a of answers) {
    assert.equal(a.headers.get('cache-control'), 'no-store', `${a.url} ${a.status}`);
    assert.equal(a.headers.get('x-content-type-options'), 'nosniff', `${a.url} ${a.status}`);
  }
});
