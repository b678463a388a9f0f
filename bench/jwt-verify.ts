/**
 * node --import tsx bench/jwt-verify.ts
 * Why auth/verify-token.ts hands jsonwebtoken a KeyObject: the same HS256
 * token verified with the secret as a string and as a KeyObject, alternating.
 */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../config/config.ts';

const token = jwt.sign({ role: 'customer', tenant_id: 't-1' }, DEV_JWT_SECRET, {
  algorithm: 'HS256',
  issuer: 'i',
  audience: 'a',
  expiresIn: 3600,
});
const keys: [string, string | ReturnType<typeof createSecretKey>][] = [
  ['string secret', DEV_JWT_SECRET],
  ['KeyObject', createSecretKey(Buffer.from(DEV_JWT_SECRET))],
];
const results: Record<string, number[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, key] of keys) {
    const n = 5000;
    const started = performance.now();
    for (let i = 0; i < n; i++) jwt.verify(token, key, { algorithms: ['HS256'], issuer: 'i', audience: 'a' });
    (results[name] ??= []).push(((performance.now() - started) / n) * 1000);
  }
}
for (const [name, us] of Object.entries(results)) console.log(`${name.padEnd(14)} ${us.map((u) => u.toFixed(1)).join(', ')} µs per verify`);
