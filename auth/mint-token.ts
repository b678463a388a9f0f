import jwt from 'jsonwebtoken';
import type { JwtConfig } from '../config/config.ts';
import type { Role } from './principal.ts';

export interface MintOptions {
  readonly role: Role;
  readonly tenantId?: string;
  readonly subject?: string;
  readonly ttlSeconds: number;
}

/** Signs a development token with the configured HMAC secret (never a production path). */
export function mintDevToken(config: JwtConfig, options: MintOptions): string {
  if (config.kind !== 'hmac') {
    throw new Error('Minting needs an HMAC secret (STRATA_JWT_SECRET or the development default); this configuration verifies with a public key.');
  }
  const claims: Record<string, unknown> = { role: options.role };
  if (options.tenantId) claims['tenant_id'] = options.tenantId;
  return jwt.sign(claims, config.secret, {
    algorithm: 'HS256',
    issuer: config.issuer,
    audience: config.audience,
    subject: options.subject ?? `${options.role}:${options.tenantId ?? 'all'}`,
    expiresIn: options.ttlSeconds,
  });
}
