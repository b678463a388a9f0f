import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AuthenticationError, keySetFor, verifyToken } from '../../auth/verify-token.ts';
import { loadConfig, type JwtConfig } from '../../config/config.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import { AUDIENCE, FakeJwks, ISSUER, ask, claims, ecKey, forged, randomKid, rsaKey, signed, startEdge, type Edge } from './jwt-fixtures.ts';

/**
 * Public keys from a JWKS URL: cached as a set, rotated by kid with at most
 * one refresh per unknown kid, fetches budgeted, outages bounded. A fake JWKS
 * server (node:http on 127.0.0.1) counts every fetch.
 */
const keyA = rsaKey('key-a');
const keyB = ecKey('key-b');
const attacker = rsaKey('key-a'); // claims our kid, signs with its own key
let store: DuckDbStore;
let jwks: FakeJwks;
const edges: Edge[] = [];

before(async () => {
  store = await seededStore({
    seed: 3,
    tenants: 1,
    clusters: 1,
    topics: 1,
    partitions: 1,
    days: 1,
    end: Date.parse('2026-11-20T00:00:00Z'),
  });
  jwks = await FakeJwks.start([keyA]);
});

after(async () => {
  for (const edge of edges) await edge.close();
  await jwks.close();
  await store.close();
});

/** A fresh app (so a fresh key cache) verifying with the fake JWKS server. */
async function jwksEdge(env: Record<string, string> = {}): Promise<Edge> {
  jwks.mode = 'ok';
  jwks.publish([keyA]);
  jwks.fetches = 0;
  const edge = await startEdge(store, { STRATA_JWKS_URL: jwks.url, ...env });
  edges.push(edge);
  return edge;
}

test('keys come from the JWKS URL and are cached: 20 requests, one fetch', async () => {
  const edge = await jwksEdge();
  for (let i = 0; i < 20; i += 1) assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  assert.equal(jwks.fetches, 1);
  assert.equal((await ask(edge.url, signed(attacker))).status, 401, 'our kid, another key: the signature fails');
  assert.equal(jwks.fetches, 1, 'a known kid never refetches, even when its signature is bad');
});

test('rotation: a new kid costs exactly one refresh, then is cached; a withdrawn kid goes with the next fetch', async () => {
  const edge = await jwksEdge();
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  jwks.publish([keyA, keyB]);
  assert.equal((await ask(edge.url, signed(keyB))).status, 200, 'the ES256 key published after start');
  assert.equal(jwks.fetches, 2);
  for (let i = 0; i < 5; i += 1) assert.equal((await ask(edge.url, signed(i % 2 ? keyA : keyB))).status, 200);
  assert.equal(jwks.fetches, 2);
  jwks.publish([keyB]);
  assert.equal((await ask(edge.url, signed(keyA))).status, 200, 'still cached until the next fetch');
  assert.equal((await ask(edge.url, signed(rsaKey('key-c')))).status, 401, 'an unknown kid: one refresh, not found');
  assert.equal(jwks.fetches, 3);
  assert.equal((await ask(edge.url, signed(keyA))).status, 401, 'key-a was withdrawn by that fetch');
  assert.equal(jwks.fetches, 4, 'one refresh for the now-unknown kid, no more');
});

test('a flood of random kids spends at most the fetch budget (10/min) and the real key keeps working', async () => {
  const edge = await jwksEdge();
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  const forger = rsaKey('x');
  const flood = () => ask(edge.url, signed({ ...forger, kid: randomKid() }));
  let refused = 0;
  // One at a time: each unknown kid gets its one refresh until the budget is spent.
  for (let i = 0; i < 30; i += 1) refused += (await flood()).status === 401 ? 1 : 0;
  assert.equal(jwks.fetches, 10, 'the first fetch and 9 refreshes, then none');
  // Concurrent waves: no budget left, so no fetch at all.
  for (let wave = 0; wave < 5; wave += 1)
    refused += (await Promise.all(Array.from({ length: 40 }, flood))).filter((a) => a.status === 401).length;
  assert.equal(refused, 230);
  assert.equal(jwks.fetches, 10, `${jwks.fetches} fetches for 230 random kids`);
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  assert.equal(jwks.fetches, 10);
});

test('concurrent unknown kids share one refresh', async () => {
  const edge = await jwksEdge();
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  const forger = rsaKey('x');
  // The refresh stays in flight 1.5 s, so the 30 requests meet it even on a loaded machine.
  jwks.delayMs = 1500;
  const answers = await Promise.all(Array.from({ length: 30 }, () => ask(edge.url, signed({ ...forger, kid: randomKid() }))));
  jwks.delayMs = 0;
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([401]));
  assert.ok(jwks.fetches < 10, `${jwks.fetches} fetches for 30 concurrent unknown kids`);
});

test('an unknown kid on a cold cache costs one fetch, not two', async () => {
  const edge = await jwksEdge();
  assert.equal((await ask(edge.url, signed(rsaKey(randomKid())))).status, 401);
  assert.equal(jwks.fetches, 1);
});

test('JWKS answering 500 or hanging: cold cache fails closed; a warm cache keeps serving; fetches time out', async () => {
  const edge = await jwksEdge({ STRATA_JWKS_TIMEOUT: '300ms' });
  jwks.mode = 'error';
  assert.equal((await ask(edge.url, signed(keyA))).status, 401, 'cold cache, 500');
  jwks.mode = 'hang';
  assert.equal((await ask(edge.url, signed(keyA))).status, 401, 'cold cache, hang: ended by the timeout');
  assert.equal(jwks.fetches, 2);
  jwks.mode = 'ok';
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  jwks.mode = 'hang';
  assert.equal((await ask(edge.url, signed(keyA))).status, 200, 'warm cache, hang: the known kid needs no fetch');
  assert.equal((await ask(edge.url, signed(rsaKey(randomKid())))).status, 401, 'unknown kid during the hang');
  jwks.mode = 'error';
  assert.equal((await ask(edge.url, signed(keyB))).status, 401, 'unknown kid during the 500s');
  assert.equal((await ask(edge.url, signed(keyA))).status, 200);
  assert.equal(jwks.fetches, 5);
});

/** Verifies at a chosen clock, so the outage window is shown without waiting. */
async function verdict(config: JwtConfig, at: number): Promise<string> {
  const token = signed(keyA, claims({}, Math.floor(at / 1000)));
  try {
    return (await verifyToken(token, config, at)).role;
  } catch (error) {
    if (error instanceof AuthenticationError) return `401: ${error.reason}`;
    throw error;
  }
}

test('an outage serves cached keys until STRATA_JWKS_MAX_STALE after the last good fetch, then fails closed', async () => {
  jwks.mode = 'ok';
  jwks.publish([keyA]);
  jwks.fetches = 0;
  const config = loadConfig(
    {},
    {
      STRATA_JWKS_URL: jwks.url,
      STRATA_JWT_ISSUER: ISSUER,
      STRATA_JWT_AUDIENCE: AUDIENCE,
      STRATA_JWKS_REFRESH: '1m',
      STRATA_JWKS_MAX_STALE: '5m',
      STRATA_JWKS_TIMEOUT: '300ms',
    },
  ).jwt;
  const keys = config.kind === 'jwks' ? keySetFor(config) : assert.fail('expected a JWKS configuration');
  const t0 = Date.now();
  const min = 60_000;
  assert.equal(await verdict(config, t0), 'customer');
  jwks.mode = 'error';
  assert.equal(await verdict(config, t0 + 30_000), 'customer', 'fresh: no fetch');
  assert.equal(jwks.fetches, 1);
  assert.equal(await verdict(config, t0 + 2 * min), 'customer', 'stale: served, refresh tried in the background');
  await keys.whenIdle();
  assert.equal(jwks.fetches, 2);
  jwks.mode = 'hang';
  assert.equal(await verdict(config, t0 + 4 * min), 'customer', 'stale, JWKS hanging: served at once');
  await keys.whenIdle();
  jwks.mode = 'error';
  assert.equal(await verdict(config, t0 + 5 * min), 'customer', 'at the bound');
  await keys.whenIdle();
  assert.match(await verdict(config, t0 + 5 * min + 1000), /^401: JWKS fetch failed/, 'past the bound: fails closed');
  assert.match(await verdict(config, t0 + 6 * min), /^401: JWKS fetch failed/);
  jwks.mode = 'ok';
  assert.equal(await verdict(config, t0 + 7 * min), 'customer', 'recovers with the endpoint');
});

test('the loader drops RSA keys under 2048 bits, EC keys off P-256 and keys declaring another alg', async () => {
  const weak = rsaKey('weak', 1024);
  const p384 = ecKey('p384', 'secp384r1');
  const pss = rsaKey('pss');
  const events: Record<string, unknown>[] = [];
  jwks.mode = 'ok';
  jwks.fetches = 0;
  jwks.publish([keyA, weak, p384], [{ ...pss.jwk, alg: 'PS256' }]);
  const config = loadConfig({}, { STRATA_JWKS_URL: jwks.url, STRATA_JWT_ISSUER: ISSUER, STRATA_JWT_AUDIENCE: AUDIENCE }).jwt;
  if (config.kind !== 'jwks') assert.fail('expected a JWKS configuration');
  keySetFor(config, (msg, fields) => events.push({ msg, ...fields }));
  const reason = async (token: string): Promise<string> =>
    verifyToken(token, config).then(
      (p) => p.role,
      (e: AuthenticationError) => e.reason,
    );
  assert.equal(await reason(signed(keyA)), 'customer');
  assert.match(await reason(signed(weak)), /no key with kid "weak"/);
  assert.match(await reason(forged({ alg: 'ES256', kid: 'p384' }, claims(), () => 'AAAA')), /no key with kid "p384"/);
  assert.match(await reason(signed({ ...pss, alg: 'RS256' })), /no key with kid "pss"/);
  const dropped = events.filter((e) => e['msg'] === 'JWKS key dropped').map((e) => `${String(e['kid'])}: ${String(e['reason'])}`);
  assert.deepEqual(dropped.slice(0, 3), [
    'weak: RSA key of 1024 bits, under 2048',
    'p384: key type ec secp384r1 is not accepted (RSA >= 2048 or EC P-256)',
    'pss: declared alg PS256 is not RS256',
  ]);
});
