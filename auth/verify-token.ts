import jwt from 'jsonwebtoken';
import type { JwtConfig } from '../config/config.ts';
import { ErrorCode, StrataError } from '../api/errors.ts';
import { ROLES, type Principal, type Role } from './principal.ts';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Verifies a bearer token and returns the principal. Algorithms are pinned by
 * key type (no `none`, no HS/RS confusion); issuer, audience and expiry are
 * required. Every failure is the same UNAUTHENTICATED error with a reason.
 */
export function verifyToken(token: string, config: JwtConfig, now: number = Date.now()): Principal {
  let claims: jwt.JwtPayload;
  try {
    const key = config.kind === 'hmac' ? config.secret : config.publicKey;
    const algorithms: jwt.Algorithm[] = config.kind === 'hmac' ? ['HS256'] : ['RS256', 'ES256'];
    const decoded = jwt.verify(token, key, {
      algorithms,
      issuer: config.issuer,
      audience: config.audience,
      clockTimestamp: Math.floor(now / 1000),
      clockTolerance: 30,
    });
    if (typeof decoded === 'string') throw new Error('payload is not a JSON object');
    claims = decoded;
  } catch (error) {
    throw unauthenticated(error instanceof Error ? error.message : 'invalid token');
  }
  if (typeof claims.exp !== 'number') throw unauthenticated('the token has no expiry (exp)');
  const role = claims['role'];
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw unauthenticated(`role must be one of ${ROLES.join(', ')}`);
  const tenant = claims['tenant_id'];
  if (role === 'customer' && (typeof tenant !== 'string' || !TENANT_ID.test(tenant))) {
    throw unauthenticated('a customer token needs a non-empty tenant_id claim');
  }
  return { subject: String(claims.sub ?? 'unknown'), role: role as Role, tenantId: role === 'customer' ? (tenant as string) : undefined };
}

export function bearerToken(header: string | undefined): string {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header?.trim() ?? '');
  if (!match?.[1]) throw unauthenticated('send "Authorization: Bearer <token>" (get one with `npm run token`)');
  return match[1];
}

function unauthenticated(reason: string): StrataError {
  return new StrataError(ErrorCode.UNAUTHENTICATED, `Not authenticated: ${reason}.`);
}
