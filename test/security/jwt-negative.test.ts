import assert from 'node:assert/strict';
import { after, before, mock, test } from 'node:test';
import { UNAUTHENTICATED_MESSAGE } from '../../auth/verify-token.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { seededStore } from '../helpers/fixture.ts';
import {
  FakeJwks,
  ask,
  claims,
  ecKey,
  es384With,
  forged,
  hmacWith,
  pssWith,
  randomKid,
  rsaKey,
  signed,
  signedText,
  startEdge,
  withMember,
  type Edge,
} from './jwt-fixtures.ts';

/**
 * Every bad token, through the real HTTP edge of an app that verifies with a
 * JWKS (and with the most lenient clock tolerance allowed, 60 s): 401, the
 * same body for all, the precise reason in the log only.
 */
const ours = rsaKey('key-1');
const attackerRsa = rsaKey('key-1');
const attackerP384 = ecKey('key-1', 'secp384r1');
const pem = ours.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const nowS = (): number => Math.floor(Date.now() / 1000);
let store: DuckDbStore;
let jwks: FakeJwks;
let edge: Edge;
const GENERIC_BODY = JSON.stringify({ errors: [{ message: UNAUTHENTICATED_MESSAGE, extensions: { code: 'UNAUTHENTICATED' } }] });

before(async () => {
  store = await seededStore({
    seed: 5,
    tenants: 1,
    clusters: 1,
    topics: 1,
    partitions: 1,
    days: 1,
    end: Date.parse('2026-11-20T00:00:00Z'),
  });
  jwks = await FakeJwks.start([ours]);
  edge = await startEdge(store, { STRATA_JWKS_URL: jwks.url, STRATA_JWT_CLOCK_TOLERANCE: '60s' });
});

after(async () => {
  await edge?.close();
  await jwks?.close();
  await store?.close();
});

const valid = signed(ours);
const [validHeader, , validSignature] = valid.split('.');
const kid = { kid: ours.kid };
/** The text of a good payload, for the rows that need JSON.stringify cannot write. */
const goodText = (): string => JSON.stringify(claims());
const DAY = 86_400;

/** name → token → what the log must say (the client is never told). */
const NEGATIVE: readonly (readonly [string, () => string | undefined, RegExp | undefined])[] = [
  ['no Authorization header', () => undefined, undefined],
  ['garbage', () => 'garbage', /3 dot-separated parts/],
  [
    'oversized (> 8 KB), valid signature',
    () => signed(ours, claims({ pad: 'x'.repeat(9000) }), { kid: randomKid() }),
    /over the limit of 8192/,
  ],
  [
    'alg none, empty signature',
    () => forged({ alg: 'none', typ: 'JWT', ...kid }, claims({ role: 'internal' })),
    /alg none is not accepted/,
  ],
  ['alg "None", no kid', () => forged({ alg: 'None' }, claims({ role: 'internal' })), /alg None is not accepted/],
  [
    'HS256 keyed with our RSA public key PEM',
    () => forged({ alg: 'HS256', ...kid }, claims({ role: 'internal' }), hmacWith(pem)),
    /alg HS256 is not accepted/,
  ],
  [
    'HS256 keyed with our JWK JSON text',
    () => forged({ alg: 'HS256', ...kid }, claims({ role: 'internal' }), hmacWith(JSON.stringify(ours.jwk))),
    /alg HS256 is not accepted/,
  ],
  [
    'PS256 by a key we do not list',
    () => forged({ alg: 'PS256', ...kid }, claims(), pssWith(attackerRsa.privateKey)),
    /alg PS256 is not accepted/,
  ],
  [
    'HS512 by a secret',
    () => forged({ alg: 'HS512', ...kid }, claims(), hmacWith('a-guessable-secret', 'sha512')),
    /alg HS512 is not accepted/,
  ],
  [
    'ES384 by a key we do not list',
    () => forged({ alg: 'ES384', ...kid }, claims(), es384With(attackerP384.privateKey)),
    /alg ES384 is not accepted/,
  ],
  ['ES256 header on our RSA key', () => forged({ alg: 'ES256', ...kid }, claims(), () => validSignature ?? ''), /does not match the key/],
  ['RS256 by another key under our kid', () => signed(attackerRsa), /invalid signature/],
  [
    'payload swapped under a valid signature',
    () => `${validHeader}.${Buffer.from(JSON.stringify(claims({ role: 'internal' }))).toString('base64url')}.${validSignature}`,
    /invalid signature/,
  ],
  ['no kid', () => signed(ours, claims(), { kid: undefined }), /no kid/],
  ['wrong aud', () => signed(ours, claims({ aud: 'another-api' })), /audience invalid/],
  ['wrong iss', () => signed(ours, claims({ iss: 'https://evil.test/' })), /issuer invalid/],
  ['expired 61 s ago', () => signed(ours, claims({ iat: nowS() - 3600, exp: nowS() - 61 })), /jwt expired/],
  // 62: a second ticking between signing and checking must not let it through (the unit test pins 61 with a fixed clock).
  ['not valid for another 62 s', () => signed(ours, claims({ nbf: nowS() + 62 })), /jwt not active/],
  ['no exp', () => signed(ours, claims({ exp: undefined })), /no expiry/],
  ['customer without tenant_id', () => signed(ours, claims({ tenant_id: undefined })), /tenant_id/],
  ['customer with empty tenant_id', () => signed(ours, claims({ tenant_id: '' })), /tenant_id/],
  ['customer with null tenant_id', () => signed(ours, claims({ tenant_id: null })), /tenant_id/],
  ['customer with tenant_id "."', () => signed(ours, claims({ tenant_id: '.' })), /tenant_id/],
  ['customer with tenant_id an array', () => signed(ours, claims({ tenant_id: ['t-1'] })), /tenant_id/],
  ['unknown role', () => signed(ours, claims({ role: 'admin' })), /role "admin"/],
  ['no role', () => signed(ours, claims({ role: undefined })), /role undefined/],
  ['no iat', () => signed(ours, claims({ iat: undefined })), /no issue time \(iat\)/],
  ['iat a string', () => signedText(ours, JSON.stringify(claims({ iat: String(nowS()) }))), /no issue time \(iat\)/],
  // 62 for the same reason as nbf above.
  [
    'issued 62 s in the future',
    () => signed(ours, claims({ iat: nowS() + 62, exp: nowS() + 600 })),
    /issued 6[12] s in the future \(iat\), over the clock tolerance of 60 s/,
  ],
  [
    'a lifetime of 24 h + 1 s (the default maximum is 24 h)',
    (t = nowS()) => signed(ours, claims({ iat: t, exp: t + DAY + 1 })),
    /lifetime \(exp - iat\) of 86401 s, over the maximum of 86400 s/,
  ],
  ['a lifetime of 100 years', () => signed(ours, claims({ exp: nowS() + 100 * 365 * DAY })), /lifetime \(exp - iat\) of 315\d{7} s/],
  [
    'back-dated a year, expiring in 10 min',
    () => signed(ours, claims({ iat: nowS() - 365 * DAY })),
    /lifetime \(exp - iat\) of 315366\d\d s/,
  ],
  [
    'exp 1e400 (Infinity to JSON.parse)',
    () => signedText(ours, goodText().replace(/"exp":\d+/, '"exp":1e400')),
    /lifetime \(exp - iat\) of Infinity s/,
  ],
  [
    'payload repeats role, the last (kept by JSON.parse) internal',
    () => signedText(ours, withMember(goodText(), '"role":"internal"')),
    /payload repeats the key "role"/,
  ],
  [
    'payload repeats tenant_id, the first another tenant',
    () => signedText(ours, withMember(goodText(), '"tenant_id":"t-2"', true)),
    /payload repeats the key "tenant_id"/,
  ],
  [
    'payload repeats role, once spelled with an escape',
    () => signedText(ours, withMember(goodText(), '"r\\u006fle":"internal"')),
    /payload repeats the key "role"/,
  ],
  [
    'payload repeats a key in a nested object',
    () => signedText(ours, withMember(goodText(), '"ctx":[{"scope":"a","scope":"b"}]')),
    /payload repeats the key "scope"/,
  ],
  [
    'header repeats alg (none first, RS256 last)',
    () => signedText(ours, goodText(), `{"alg":"none","alg":"RS256","kid":"${ours.kid}"}`),
    /header repeats the key "alg"/,
  ],
  [
    'header repeats kid',
    () => signedText(ours, goodText(), `{"alg":"RS256","kid":"key-x","kid":"${ours.kid}"}`),
    /header repeats the key "kid"/,
  ],
];

test('every bad token gets 401 and one generic body; the reason is in the log only', async () => {
  const warn = mock.method(edge.app.log, 'warn');
  const fetchesBefore = jwks.fetches;
  const bodies = new Set<string>();
  for (const [name, token, reason] of NEGATIVE) {
    warn.mock.resetCalls();
    const answer = await ask(edge.url, token());
    assert.equal(answer.status, 401, name);
    assert.equal(answer.wwwAuthenticate, 'Bearer', name);
    assert.equal(answer.text, GENERIC_BODY, name);
    bodies.add(answer.text);
    if (reason) {
      const logged = warn.mock.calls.map((c) => String(c.arguments[1]?.['reason']));
      assert.ok(
        logged.some((r) => reason.test(r)),
        `${name}: logged ${JSON.stringify(logged)}`,
      );
      assert.ok(!answer.text.includes(logged[0] ?? '\u0000'), `${name}: the reason leaked to the client`);
    }
  }
  assert.equal(bodies.size, 1);
  // Bad algorithms, oversized tokens and kid-less tokens never reach the JWKS endpoint.
  assert.ok(jwks.fetches - fetchesBefore <= 1, `${jwks.fetches - fetchesBefore} fetches`);
  warn.mock.restore();
});

test('the positive controls pass on the same edge: a good token, and one expired 50 s ago (tolerance 60 s)', async () => {
  assert.equal((await ask(edge.url, valid)).status, 200);
  assert.equal((await ask(edge.url, signed(ours, claims({ role: 'internal', tenant_id: undefined })))).status, 200);
  assert.equal((await ask(edge.url, signed(ours, claims({ iat: nowS() - 3600, exp: nowS() - 50 })))).status, 200);
});

test('the positive controls for iat, lifetime and repeated keys pass on the same edge', async () => {
  const ok = async (name: string, token: string): Promise<void> => assert.equal((await ask(edge.url, token)).status, 200, name);
  await ok('iat 50 s ahead (tolerance 60 s)', signed(ours, claims({ iat: nowS() + 50, exp: nowS() + 600 })));
  const t = nowS();
  await ok('a lifetime of exactly 24 h', signed(ours, claims({ iat: t, exp: t + DAY })));
  await ok(
    'equal keys in different objects',
    signedText(ours, withMember(goodText(), '"ctx":{"role":"x","tenant_id":"y","list":[{"k":1},{"k":2}]}')),
  );
  await ok(
    'keys that differ once unescaped (x\\u0061 and xa, \u00e9 and e\u0301)',
    signedText(ours, withMember(goodText(), '"x\\\\u0061":1,"xa":2,"\\u00e9":3,"e\\u0301":4')),
  );
  await ok(
    'a header with typ and an escaped, unrepeated key',
    signedText(ours, goodText(), `{"\\u0061lg":"RS256","typ":"JWT","kid":"${ours.kid}"}`),
  );
});

test('authentication fails before the body is read: a bad token with a broken body is 401, not 400', async () => {
  const answer = await ask(edge.url, 'garbage', '{"query": ');
  assert.equal(answer.status, 401);
  assert.equal(answer.text, GENERIC_BODY);
  const good = await ask(edge.url, valid, '{"query": ');
  assert.equal(good.status, 400, 'the same body with a good token is parsed, and refused as JSON');
});
