import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GraphQLError } from 'graphql';
import jwt from 'jsonwebtoken';
import { maskError } from '../../api/graphql/graphql-errors.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import { post, startReplica, type HttpAnswer, type Replica } from '../helpers/edge-server.ts';

/**
 * GraphQL abuse through the real HTTP edge of a production-mode replica
 * (STRATA_ENV=production, ES256 tokens): every limit refuses before
 * execution, batching and introspection are off, suggestions are not leaked,
 * and CSRF-style simple requests are blocked.
 */
let store: DuckDbStore;
let prod: Replica;
let dev: Replica;
let token: string;

before(async () => {
  store = await seededStore();
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  prod = await startReplica(store, { STRATA_ENV: 'production', STRATA_JWT_PUBLIC_KEY: publicKey });
  dev = await startReplica(store);
  token = jwt.sign({ role: 'customer', tenant_id: 't-1' }, keys.privateKey, {
    algorithm: 'ES256',
    issuer: 'strata-dev',
    audience: 'strata-api',
    expiresIn: 600,
  });
});
after(async () => {
  await prod.stop();
  await dev.stop();
  await store.close();
});

const ask = (query: string, r: Replica = prod, who = token): Promise<HttpAnswer> =>
  post(`${r.base}/graphql`, who, JSON.stringify({ query }));
const cpuMs = (): number => process.cpuUsage().user / 1000;

test('the production replica answers a plain query (the setup works)', async () => {
  const ok = await ask('{ resources { id } }');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('depth: the only recursive part of the schema is introspection, refused in production however it is nested', async () => {
  const deep = (n: number): string => (n === 0 ? 'name' : `ofType { ${deep(n - 1)} }`);
  const plain = `{ __schema { types { fields { type { ${deep(8)} } } } } }`;
  const inline = `{ __schema { ... on __Schema { types { ... on __Type { fields { type { ${deep(8)} } } } } } } }`;
  const named = `query { __schema { types { ...F } } } fragment F on __Type { fields { type { ${deep(8)} } } }`;
  for (const document of [plain, inline, named]) {
    const r = await ask(document);
    assert.equal(r.status, 400, `${document.slice(0, 60)}: ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.equal(r.body.data, undefined, 'refused before execution');
  }
});

test('aliases, directives and tokens over their limits are refused before execution', async () => {
  const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: resources { id }`).join(' ')} }`;
  const directives = `{ resources ${'@include(if: true) '.repeat(11)} { id } }`;
  const tokens = `{ resources { ${'id '.repeat(2100)} } }`;
  for (const document of [aliases, directives, tokens]) {
    const r = await ask(document);
    assert.equal(r.code, 'QUERY_TOO_COMPLEX', JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.data, undefined);
  }
  const atLimit = await ask(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: resources { id }`).join(' ')} }`);
  assert.equal(atLimit.status, 200, 'exactly at the alias limit is fine');
});

test('pathological documents are refused by the token, cost and depth limits (or answered) with bounded CPU', async () => {
  const documents = [
    `{ ${'__typename '.repeat(5000)} }`,
    `{ resources { ${Array.from({ length: 300 }, () => '... on Resource { id }').join(' ')} } }`,
    `query { ...A0 } ${Array.from({ length: 20 }, (_, i) => `fragment A${i} on Query { ...A${i + 1} ...A${i + 1} }`).join(' ')} fragment A20 on Query { __typename }`,
    `{ resources(${'x: 1, '.repeat(3000)}) { id } }`,
  ];
  for (const document of documents) {
    const before = cpuMs();
    const r = await ask(document);
    const spent = cpuMs() - before;
    assert.ok(r.status === 200 || r.status === 400, `answered or refused with a 400, got ${r.status}`);
    if (r.status === 400)
      assert.ok(
        ['QUERY_TOO_COMPLEX', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'].includes(r.code ?? ''),
        JSON.stringify(r.body).slice(0, 300),
      );
    console.log(`# ${document.slice(0, 30)}…: ${r.code} after ${spent.toFixed(1)} ms CPU`);
  }
});

test('batching is off: a JSON array of operations is a 400', async () => {
  const r = await post(
    `${prod.base}/graphql`,
    token,
    JSON.stringify([{ query: '{ resources { id } }' }, { query: '{ resources { id } }' }]),
  );
  assert.equal(r.status, 400);
  assert.match(JSON.stringify(r.body), /batching/i);
});

test('production: introspection refused and no "Did you mean" suggestions', async () => {
  const intro = await ask('{ __schema { types { name } } }');
  assert.ok(intro.body.errors?.length, 'introspection is refused');
  assert.match(intro.body.errors?.[0]?.message ?? '', /introspection/i);
  const typo = await ask('{ resourcez { id } }');
  assert.equal(typo.status, 400);
  assert.doesNotMatch(JSON.stringify(typo.body), /Did you mean/);
  const devTypo = await ask('{ resourcez { id } }', dev, dev.token('customer', 't-1'));
  assert.match(JSON.stringify(devTypo.body), /Did you mean/, 'development keeps suggestions for humans');
});

test('CSRF: simple GET and text/plain POST are blocked before any resolver; a preflighted GET works', async () => {
  const url = `${prod.base}/graphql?query=${encodeURIComponent('{ resources { id } }')}`;
  const simpleGet = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(simpleGet.status, 400);
  assert.match(await simpleGet.text(), /CSRF|preflight/i);
  const textPost = await fetch(`${prod.base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    body: JSON.stringify({ query: '{ resources { id } }' }),
  });
  assert.ok(textPost.status === 400 || textPost.status === 415, `text/plain POST: ${textPost.status}`);
  const preflighted = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
  assert.equal(preflighted.status, 200);
  const mutationByGet = await fetch(`${prod.base}/graphql?query=${encodeURIComponent('mutation { x }')}`, {
    headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
  });
  assert.ok(mutationByGet.status >= 400, 'no mutation over GET');
});

test('unknown errors are masked at the edge while the log keeps the whole cause', () => {
  const logged: Record<string, unknown>[] = [];
  const cause = new Error('Binder Error: SELECT secret FROM telemetry_raw WHERE tenant_id = $1 (druid broker http://10.0.0.7:8082)');
  const wrapped = new GraphQLError(cause.message, { originalError: cause, path: ['timeseries'] });
  const shown = maskError({ message: cause.message, path: ['timeseries'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped, (e) =>
    logged.push(e),
  );
  assert.equal(shown.extensions?.['code'], 'INTERNAL');
  assert.doesNotMatch(JSON.stringify(shown), /SELECT|telemetry_raw|10\.0\.0\.7|stack/);
  const errorId = shown.extensions?.['errorId'];
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.['errorId'], errorId, 'the id in the answer finds the log entry');
  assert.match(JSON.stringify(logged[0]), /SELECT secret FROM telemetry_raw/);
  assert.match(JSON.stringify(logged[0]), /stack/);
});
