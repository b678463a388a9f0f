import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtConfig } from '../config/config.ts';
import { ErrorCode, StrataError } from '../api/errors.ts';
import { JwksKeySet, KeyUnavailableError, usableKey, type KeyAlgorithm } from './jwks-key-set.ts';
import { ROLES, type Principal, type Role } from './principal.ts';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KID = /^[\x21-\x7e]{1,256}$/;

/** Longer tokens are refused unread: no decode, no key lookup, no signature check. */
export const MAX_TOKEN_BYTES = 8192;

/** The one answer to every failed authentication: it never says which check failed. */
export const UNAUTHENTICATED_MESSAGE = 'Not authenticated. Send "Authorization: Bearer <token>" with a valid, unexpired token issued for this API.';

/** UNAUTHENTICATED with the generic message; the precise reason is for the log only. */
export class AuthenticationError extends StrataError {
  readonly reason: string;

  constructor(reason: string) {
    super(ErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE);
    this.reason = reason;
  }
}

export type AuthLog = (msg: string, fields: Record<string, unknown>) => void;

interface Header {
  readonly alg: string;
  readonly kid: string | undefined;
}

/**
 * Verifies a bearer token and returns the principal. Each key verifies one
 * algorithm (HS256 for the secret, RS256 for RSA, ES256 for P-256), checked
 * against the header before any key is looked up, so `none`, HS/RS confusion
 * and unlisted algorithms never reach a key or a JWKS fetch. iss, aud and exp
 * are required. Every failure is an AuthenticationError.
 */
export async function verifyToken(token: string, config: JwtConfig, now: number = Date.now(), log?: AuthLog): Promise<Principal> {
  if (token.length > MAX_TOKEN_BYTES) throw new AuthenticationError(`the token has ${token.length} bytes, over the limit of ${MAX_TOKEN_BYTES}`);
  const header = decodeHeader(token);
  const { key, algorithm } = await keyFor(config, header, now, log);
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, key, {
      algorithms: [algorithm],
      issuer: config.issuer,
      audience: config.audience,
      clockTimestamp: Math.floor(now / 1000),
      clockTolerance: config.clockToleranceSeconds,
    });
    if (typeof decoded === 'string') throw new Error('payload is not a JSON object');
    claims = decoded;
  } catch (error) {
    throw new AuthenticationError(error instanceof Error ? error.message : 'invalid token');
  }
  return principalOf(claims);
}

function principalOf(claims: jwt.JwtPayload): Principal {
  if (typeof claims.exp !== 'number') throw new AuthenticationError('the token has no expiry (exp)');
  const role = claims['role'];
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new AuthenticationError(`role ${JSON.stringify(role)} is not one of ${ROLES.join(', ')}`);
  const tenant = claims['tenant_id'];
  if (role === 'customer' && (typeof tenant !== 'string' || !TENANT_ID.test(tenant))) {
    throw new AuthenticationError(`a customer token needs a tenant_id claim matching ${TENANT_ID} (got ${JSON.stringify(tenant)})`);
  }
  return { subject: String(claims.sub ?? 'unknown'), role: role as Role, tenantId: role === 'customer' ? (tenant as string) : undefined };
}

function decodeHeader(token: string): Header {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthenticationError(`a JWT has 3 dot-separated parts, this has ${parts.length}`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'));
  } catch {
    throw new AuthenticationError('the header is not base64url JSON');
  }
  if (typeof header !== 'object' || header === null) throw new AuthenticationError('the header is not a JSON object');
  const { alg, kid } = header as Record<string, unknown>;
  if (typeof alg !== 'string') throw new AuthenticationError('the header has no alg');
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid))) throw new AuthenticationError('the header kid is not a short printable string');
  return { alg, kid: kid as string | undefined };
}

async function keyFor(config: JwtConfig, header: Header, now: number, log: AuthLog | undefined): Promise<{ key: KeyObject | string; algorithm: jwt.Algorithm }> {
  const accepted: readonly string[] = config.kind === 'hmac' ? ['HS256'] : ['RS256', 'ES256'];
  if (!accepted.includes(header.alg)) throw new AuthenticationError(`alg ${header.alg} is not accepted here (${accepted.join(', ')})`);
  if (config.kind === 'hmac') return { key: hmacKey(config.secret), algorithm: 'HS256' };
  if (config.kind === 'public-key') return pinned(pemKey(config.publicKey), header.alg);
  if (!header.kid) throw new AuthenticationError('the header has no kid (a JWKS key is chosen by kid)');
  try {
    return pinned(await keySetFor(config, log).keyFor(header.kid, now), header.alg);
  } catch (error) {
    if (error instanceof KeyUnavailableError) throw new AuthenticationError(error.message);
    throw error;
  }
}

function pinned(found: { key: KeyObject; algorithm: KeyAlgorithm }, alg: string): { key: KeyObject; algorithm: jwt.Algorithm } {
  if (found.algorithm !== alg) throw new AuthenticationError(`alg ${alg} does not match the key, which verifies ${found.algorithm} only`);
  return found;
}

const hmacKeys = new Map<string, KeyObject>();

/**
 * The secret as a KeyObject, made once: given a string, jsonwebtoken first
 * tries it as a PEM public key on every call, and that failed parse (an
 * exception) costs ~1.5 ms, 30x the verification itself (bench scenario 1).
 */
function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret);
  if (!key) hmacKeys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return key;
}

const pemKeys = new Map<string, { key: KeyObject; algorithm: KeyAlgorithm }>();

function pemKey(pem: string): { key: KeyObject; algorithm: KeyAlgorithm } {
  let found = pemKeys.get(pem);
  if (!found) {
    const usable = usableKey({ kid: 'STRATA_JWT_PUBLIC_KEY', getPublicKey: () => pem });
    if (typeof usable === 'string') throw new AuthenticationError(`STRATA_JWT_PUBLIC_KEY is not usable: ${usable}`);
    found = usable;
    pemKeys.set(pem, found);
  }
  return found;
}

const keySets = new WeakMap<JwtConfig, JwksKeySet>();

/** One key set per loaded configuration (so each app, and each test, has its own cache). */
export function keySetFor(config: Extract<JwtConfig, { kind: 'jwks' }>, log?: AuthLog): JwksKeySet {
  let set = keySets.get(config);
  if (!set) {
    set = new JwksKeySet(config.jwks, log);
    keySets.set(config, set);
  }
  return set;
}

export function bearerToken(header: string | undefined): string {
  // Linear in the header (which node:http caps at 16 KB); verifyToken enforces the token limit.
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header?.trim() ?? '');
  if (!match?.[1]) throw new AuthenticationError('no "Authorization: Bearer <token>" header');
  return match[1];
}
