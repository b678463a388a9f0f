import jwt from 'jsonwebtoken';
import type { JwtConfig } from '../config/config.ts';
import type { Role } from './principal.ts';

export interface MintOptions {
  readonly role: Role;
  readonly tenantId?: string;
  readonly subject?: string;
  /** exp - iat; negative mints an already expired token (for tests). */
  readonly ttlSeconds: number;
}

/** Signs a development token with the configured HMAC secret (never a production path). */
export function mintDevToken(config: JwtConfig, options: MintOptions, now: number = Date.now()): string {
  if (config.kind !== 'hmac') {
    throw new Error(
      'Minting needs an HMAC secret (STRATA_JWT_SECRET or the development default); this configuration verifies with a public key.',
    );
  }
  if (options.ttlSeconds > config.maxLifetimeSeconds) {
    throw new Error(
      `A lifetime (--ttl) of ${options.ttlSeconds} s is over the ${config.maxLifetimeSeconds} s this API accepts (STRATA_JWT_MAX_LIFETIME); ` +
        'the server would refuse the token. Ask for less, or raise STRATA_JWT_MAX_LIFETIME (at most 744h) for the server and for this command.',
    );
  }
  // iat set here, not left to jsonwebtoken's default, because verification requires it.
  const claims: Record<string, unknown> = { role: options.role, iat: Math.floor(now / 1000) };
  if (options.tenantId) claims['tenant_id'] = options.tenantId;
  return jwt.sign(claims, config.secret, {
    algorithm: 'HS256',
    issuer: config.issuer,
    audience: config.audience,
    subject: options.subject ?? `${options.role}:${options.tenantId ?? 'all'}`,
    expiresIn: options.ttlSeconds,
  });
}
