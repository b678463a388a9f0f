import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { isStrataError } from '../../api/errors.ts';
import { mintDevToken } from '../../auth/mint-token.ts';
import { verifyToken } from '../../auth/verify-token.ts';
import { DEV_JWT_SECRET, type JwtConfig } from '../../config/config.ts';

const hmac: JwtConfig = { kind: 'hmac', secret: DEV_JWT_SECRET, issuer: 'strata-dev', audience: 'strata-api', isDevSecret: true };
const unauthenticated = (e: unknown) => isStrataError(e) && e.code === 'UNAUTHENTICATED';
const opts = { issuer: 'strata-dev', audience: 'strata-api' };

test('a minted token round-trips to a principal', () => {
  const p = verifyToken(mintDevToken(hmac, { role: 'customer', tenantId: 't-9', ttlSeconds: 60 }), hmac);
  assert.deepEqual([p.role, p.tenantId], ['customer', 't-9']);
  assert.equal(verifyToken(mintDevToken(hmac, { role: 'internal', tenantId: 'ignored', ttlSeconds: 60 }), hmac).tenantId, undefined);
});

test('every bad token is UNAUTHENTICATED', () => {
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: object, o: jwt.SignOptions = {}) => jwt.sign(claims, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts, expiresIn: 600, ...o });
  const bad = [
    sign({ role: 'customer' }), // customer without tenant
    sign({ role: 'customer', tenant_id: '' }),
    sign({ role: 'root' }),
    sign({ role: 'internal' }, { audience: 'other' }),
    sign({ role: 'internal' }, { issuer: 'other' }),
    jwt.sign({ role: 'internal', exp: now - 120 }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts }),
    jwt.sign({ role: 'internal', nbf: now + 600 }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts, expiresIn: 1200 }),
    jwt.sign({ role: 'internal' }, DEV_JWT_SECRET, { algorithm: 'HS256', ...opts }), // no exp
    jwt.sign({ role: 'internal' }, DEV_JWT_SECRET, { algorithm: 'HS512', ...opts, expiresIn: 600 }), // unlisted alg
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'internal', exp: now + 60, iss: 'strata-dev', aud: 'strata-api' })).toString('base64url')}.`,
  ];
  for (const token of bad) assert.throws(() => verifyToken(token, hmac), unauthenticated, token.slice(0, 30));
});

test('RS/HS confusion: an HMAC token signed with the public key is rejected', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rs: JwtConfig = { kind: 'public-key', publicKey: pem, issuer: 'strata-dev', audience: 'strata-api' };
  const good = jwt.sign({ role: 'billing' }, privateKey, { algorithm: 'RS256', ...opts, expiresIn: 60 });
  assert.equal(verifyToken(good, rs).role, 'billing');
  const confused = jwt.sign({ role: 'internal' }, pem, { algorithm: 'HS256', ...opts, expiresIn: 60, allowInsecureKeySizes: true } as jwt.SignOptions);
  assert.throws(() => verifyToken(confused, rs), unauthenticated);
});
