import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { mintDevToken } from '../../auth/mint-token.ts';
import { AuthenticationError, UNAUTHENTICATED_MESSAGE, verifyToken } from '../../auth/verify-token.ts';
import { DEV_JWT_SECRET, loadConfig, type JwtConfig } from '../../config/config.ts';

const DAY = 86_400;
const claims = { issuer: 'strata-dev', audience: 'strata-api', clockToleranceSeconds: 30, maxLifetimeSeconds: DAY };
const hmac: JwtConfig = { kind: 'hmac', secret: DEV_JWT_SECRET, isDevSecret: true, ...claims };
const opts = { issuer: 'strata-dev', audience: 'strata-api' };

/** An HS256 token from raw header and payload text (what JSON.stringify cannot write: a repeated key, 1e400), validly signed. */
function rawToken(payload: string, header = '{"alg":"HS256","typ":"JWT"}'): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${createHmac('sha256', DEV_JWT_SECRET).update(input).digest('base64url')}`;
}

/** Rejected with the generic message, and a reason (for the log) matching `why`. */
async function rejects(token: string, config: JwtConfig, why: RegExp, now?: number): Promise<void> {
  await assert.rejects(verifyToken(token, config, now), (e: unknown) => {
    assert.ok(e instanceof AuthenticationError, String(e));
    assert.equal(e.code, 'UNAUTHENTICATED');
    assert.equal(e.message, UNAUTHENTICATED_MESSAGE);
    assert.match(e.reason, why);
    return true;
  });
}

test('a minted token round-trips to a principal', async () => {
  const p = await verifyToken(mintDevToken(hmac, { role: 'customer', tenantId: 't-9', ttlSeconds: 60 }), hmac);
  assert.deepEqual([p.role, p.tenantId], ['customer', 't-9']);
  assert.equal(
    (await verifyToken(mintDevToken(hmac, { role: 'internal', tenantId: 'ignored', ttlSeconds: 60 }), hmac)).tenantId,
    undefined,
  );
});

test('every bad HS256 token is UNAUTHENTICATED with a precise reason kept off the message', async () => {
  const now = Math.floor(Date.now() / 1000);
  const sign = (c: object, o: jwt.SignOptions = {}) => jwt.sign(c, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts, expiresIn: 600, ...o });
  await rejects(sign({ role: 'customer' }), hmac, /tenant_id/);
  await rejects(sign({ role: 'customer', tenant_id: '' }), hmac, /tenant_id/);
  await rejects(sign({ role: 'root' }), hmac, /role "root"/);
  await rejects(sign({ role: 'internal' }, { audience: 'other' }), hmac, /audience/);
  await rejects(sign({ role: 'internal' }, { issuer: 'other' }), hmac, /issuer/);
  await rejects(jwt.sign({ role: 'internal', exp: now - 120 }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts }), hmac, /expired/);
  await rejects(
    jwt.sign({ role: 'internal', nbf: now + 600 }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts, expiresIn: 1200 }),
    hmac,
    /not active/,
  );
  await rejects(jwt.sign({ role: 'internal' }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts }), hmac, /no expiry/);
  await rejects(
    jwt.sign({ role: 'internal' }, DEV_JWT_SECRET, { algorithm: 'HS512', ...opts, expiresIn: 600 }),
    hmac,
    /alg HS512 is not accepted/,
  );
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'internal', exp: now + 60, ...opts })).toString('base64url')}.`;
  await rejects(none, hmac, /alg none/);
  await rejects('x'.repeat(8193), hmac, /over the limit of 8192/);
  await rejects('a.b', hmac, /3 dot-separated parts/);
});

test('the clock tolerance is the configured one, and config refuses more than 60 s', async () => {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const at60: JwtConfig = { ...hmac, clockToleranceSeconds: 60 };
  const token = (c: object) => jwt.sign({ role: 'internal', ...c }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts });
  assert.equal((await verifyToken(token({ exp: sec - 59 }), at60, now)).role, 'internal');
  await rejects(token({ exp: sec - 61 }), at60, /expired/, now);
  await rejects(token({ exp: sec + 600, nbf: sec + 61 }), at60, /not active/, now);
  assert.equal(loadConfig({}, { STRATA_JWT_CLOCK_TOLERANCE: '60s' }).jwt.clockToleranceSeconds, 60);
  assert.equal(loadConfig({}).jwt.clockToleranceSeconds, 30);
  assert.throws(() => loadConfig({}, { STRATA_JWT_CLOCK_TOLERANCE: '61s' }), /STRATA_JWT_CLOCK_TOLERANCE: at most 60s/);
});

test('a PEM key verifies its own algorithm only: RS/HS confusion and RS384 are rejected', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rs: JwtConfig = { kind: 'public-key', publicKey: pem, ...claims };
  const good = jwt.sign({ role: 'billing' }, privateKey, { algorithm: 'RS256', ...opts, expiresIn: 60 });
  assert.equal((await verifyToken(good, rs)).role, 'billing');
  const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
  const payload = Buffer.from(JSON.stringify({ role: 'internal', ...opts, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
  const confused = `${header}.${payload}.${createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url')}`;
  await rejects(confused, rs, /alg HS256 is not accepted/);
  await rejects(
    jwt.sign({ role: 'internal' }, privateKey, { algorithm: 'RS384', ...opts, expiresIn: 60 }),
    rs,
    /alg RS384 is not accepted/,
  );
  const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await rejects(jwt.sign({ role: 'internal' }, ec, { algorithm: 'ES256', ...opts, expiresIn: 60 }), rs, /does not match the key/);
});

test('a weak PEM key (RSA 1024) verifies nothing', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const weak: JwtConfig = { kind: 'public-key', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), ...claims };
  const token = jwt.sign({ role: 'internal' }, privateKey, { algorithm: 'RS256', ...opts, expiresIn: 60, allowInsecureKeySizes: true });
  await rejects(token, weak, /1024 bits, under 2048/);
});

test('JWKS configuration: defaults, bounds and one key source at a time', () => {
  const jwks = loadConfig({}, { STRATA_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }).jwt;
  assert.equal(jwks.kind, 'jwks');
  if (jwks.kind === 'jwks')
    assert.deepEqual(jwks.jwks, {
      url: 'http://127.0.0.1:1/jwks.json',
      timeoutMs: 2000,
      refreshMs: 600_000,
      maxStaleMs: 3_600_000,
      fetchesPerMinute: 10,
    });
  assert.throws(
    () => loadConfig({}, { STRATA_JWKS_URL: 'http://x/j', STRATA_JWT_SECRET: 'a'.repeat(32) }),
    /STRATA_JWKS_URL: set it alone/,
  );
  assert.throws(() => loadConfig({}, { STRATA_JWKS_URL: 'http://x/j', STRATA_ENV: 'production' }), /must be https/);
  assert.throws(() => loadConfig({}, { STRATA_JWKS_URL: 'ftp://x/j' }), /STRATA_JWKS_URL/);
  assert.throws(
    () => loadConfig({}, { STRATA_JWKS_URL: 'http://x/j', STRATA_JWKS_TIMEOUT: '30s' }),
    /STRATA_JWKS_TIMEOUT: between 100ms and 10s/,
  );
  assert.throws(
    () => loadConfig({}, { STRATA_JWKS_URL: 'http://x/j', STRATA_JWKS_MAX_STALE: '1m' }),
    /STRATA_JWKS_MAX_STALE: must be at least/,
  );
  assert.throws(() => loadConfig({}, { STRATA_JWKS_FETCHES_PER_MINUTE: '0' }), /STRATA_JWKS_FETCHES_PER_MINUTE/);
  assert.throws(() => loadConfig({}, { STRATA_ENV: 'production' }), /STRATA_JWKS_URL or STRATA_JWT_PUBLIC_KEY: required/);
  assert.equal(loadConfig({}, { STRATA_ENV: 'production', STRATA_JWKS_URL: 'https://issuer.example/jwks.json' }).jwt.kind, 'jwks');
});

test('iat is required, at most the clock tolerance ahead, and exp - iat at most the maximum lifetime', async () => {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const token = (c: object) => jwt.sign({ role: 'internal', ...c }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts });
  const accepted = async (t: string) => assert.equal((await verifyToken(t, hmac, now)).role, 'internal');
  await rejects(
    jwt.sign({ role: 'internal', exp: sec + 600 }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts, noTimestamp: true }),
    hmac,
    /no issue time \(iat\)/,
    now,
  );
  await rejects(
    rawToken(JSON.stringify({ role: 'internal', iss: 'strata-dev', aud: 'strata-api', iat: String(sec), exp: sec + 600 })),
    hmac,
    /no issue time \(iat\)/,
    now,
  );
  await rejects(
    rawToken(JSON.stringify({ role: 'internal', iss: 'strata-dev', aud: 'strata-api', iat: null, exp: sec + 600 })),
    hmac,
    /no issue time \(iat\)/,
    now,
  );
  await rejects(
    rawToken(`{"role":"internal","iss":"strata-dev","aud":"strata-api","iat":-1e400,"exp":${sec + 600}}`),
    hmac,
    /no issue time \(iat\)/,
    now,
  );
  await accepted(token({ iat: sec + 30, exp: sec + 600 }));
  await rejects(token({ iat: sec + 31, exp: sec + 600 }), hmac, /issued 31 s in the future \(iat\), over the clock tolerance of 30 s/, now);
  await accepted(token({ iat: sec - 600, exp: sec - 600 + DAY }));
  await rejects(
    token({ iat: sec - 600, exp: sec - 600 + DAY + 1 }),
    hmac,
    /lifetime \(exp - iat\) of 86401 s, over the maximum of 86400 s/,
    now,
  );
  await rejects(token({ iat: sec, exp: sec + 100 * 365 * DAY }), hmac, /lifetime .* of 3153600000 s/, now);
  await rejects(
    rawToken(`{"role":"internal","iss":"strata-dev","aud":"strata-api","iat":${sec},"exp":1e400}`),
    hmac,
    /lifetime .* of Infinity s/,
    now,
  );
  const short: JwtConfig = { ...hmac, maxLifetimeSeconds: 60 };
  assert.equal((await verifyToken(token({ iat: sec, exp: sec + 60 }), short, now)).role, 'internal');
  await rejects(token({ iat: sec, exp: sec + 61 }), short, /over the maximum of 60 s/, now);
  assert.equal(loadConfig({}).jwt.maxLifetimeSeconds, DAY);
});

test('a header or payload that repeats a key, at any depth, is refused; equal keys in different objects are not repeats', async () => {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const base = `"iss":"strata-dev","aud":"strata-api","iat":${sec},"exp":${sec + 600}`;
  await rejects(rawToken(`{"role":"customer","tenant_id":"t-1",${base},"role":"internal"}`), hmac, /payload repeats the key "role"/, now);
  await rejects(
    rawToken(`{"role":"customer","tenant_id":"t-2","tenant_id":"t-1",${base}}`),
    hmac,
    /payload repeats the key "tenant_id"/,
    now,
  );
  await rejects(
    rawToken(`{"role":"customer","tenant_id":"t-1",${base},"r\\u006fle":"internal"}`),
    hmac,
    /payload repeats the key "role"/,
    now,
  );
  await rejects(rawToken(`{"role":"internal",${base},"ctx":{"a":[1,{"k":1,"k":2}]}}`), hmac, /payload repeats the key "k"/, now);
  await rejects(rawToken(`{"role":"internal",${base},"exp":${sec + 100 * 365 * DAY}}`), hmac, /payload repeats the key "exp"/, now);
  await rejects(
    rawToken(`{"role":"internal",${base}}`, '{"alg":"none","alg":"HS256","typ":"JWT"}'),
    hmac,
    /header repeats the key "alg"/,
    now,
  );
  await rejects(
    rawToken(`{"role":"internal",${base}}`, '{"alg":"HS256","typ":"JWT","typ":"JWT"}'),
    hmac,
    /header repeats the key "typ"/,
    now,
  );
  await rejects(rawToken(`["role","internal"]`), hmac, /payload is not a JSON object/, now);
  await rejects(rawToken(`{"role":"internal",${base}`), hmac, /payload is not base64url JSON/, now);
  const distinct = rawToken(
    `{"role":"internal",${base},"x\\\\u0061":1,"xa":2,"\\u00e9":3,"e\\u0301":4,"ctx":{"role":"x","iat":0},"list":[{"k":1},{"k":2}]}`,
  );
  assert.equal((await verifyToken(distinct, hmac, now)).role, 'internal');
});

test('the development minter always sets iat and refuses a lifetime the server would refuse', async () => {
  const now = Date.now();
  const minted = mintDevToken(hmac, { role: 'internal', ttlSeconds: DAY }, now);
  const payload = jwt.decode(minted) as jwt.JwtPayload;
  assert.deepEqual([payload.iat, payload.exp], [Math.floor(now / 1000), Math.floor(now / 1000) + DAY]);
  assert.equal((await verifyToken(minted, hmac, now)).role, 'internal');
  assert.throws(
    () => mintDevToken(hmac, { role: 'internal', ttlSeconds: DAY + 1 }),
    /86401 s is over the 86400 s this API accepts \(STRATA_JWT_MAX_LIFETIME\)/,
  );
  await rejects(mintDevToken(hmac, { role: 'internal', ttlSeconds: -120 }, now), hmac, /expired/, now);
});
