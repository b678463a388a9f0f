import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtConfig } from '../config/config.ts';
import { ErrorCode, StrataError } from '../errors/strata-error.ts';
import { duplicateKeys } from './duplicate-keys.ts';
import { JwksKeySet, KeyUnavailableError, usableKey, type KeyAlgorithm } from './jwks-key-set.ts';
import { principalFor, ROLES, type Principal, type Role } from './principal.ts';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KID = /^[\x21-\x7e]{1,256}$/;

/** Longer tokens are refused unread: no decode, no key lookup, no signature check. */
export const MAX_TOKEN_BYTES = 8192;

/** The one answer to every failed authentication: it never says which check failed. */
export const UNAUTHENTICATED_MESSAGE =
  'Not authenticated. Send "Authorization: Bearer <token>" with a valid, unexpired token issued for this API.';

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
 * and unlisted algorithms never reach a key or a JWKS fetch; nor does a header
 * or payload that repeats a key. iss, aud, exp and iat are required, and the
 * declared lifetime (exp - iat) is bounded. Every failure is an AuthenticationError.
 */
export async function verifyToken(token: string, config: JwtConfig, now: number = Date.now(), log?: AuthLog): Promise<Principal> {
  if (token.length > MAX_TOKEN_BYTES)
    throw new AuthenticationError(`the token has ${token.length} bytes, over the limit of ${MAX_TOKEN_BYTES}`);
  const header = decodeToken(token);
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
  checkLifetime(claims, config, now);
  return principalOf(claims);
}

/**
 * jsonwebtoken checks exp and nbf but leaves iat optional and unchecked, so a
 * token could be minted for 100 years. Here iat is required, exp - iat may not
 * exceed the configured maximum lifetime, and iat may not be ahead of our clock
 * by more than the tolerance: a token dated ahead would outlive that maximum.
 */
function checkLifetime(claims: jwt.JwtPayload, config: JwtConfig, now: number): void {
  const { exp, iat } = claims;
  if (typeof exp !== 'number') throw new AuthenticationError('the token has no expiry (exp)');
  // Not finite: JSON's 1e400 parses to Infinity.
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw new AuthenticationError('the token has no issue time (iat) that is a finite number');
  const ahead = iat - Math.floor(now / 1000);
  if (ahead > config.clockToleranceSeconds) {
    throw new AuthenticationError(
      `the token is issued ${ahead} s in the future (iat), over the clock tolerance of ${config.clockToleranceSeconds} s`,
    );
  }
  const lifetime = exp - iat;
  if (lifetime > config.maxLifetimeSeconds) {
    throw new AuthenticationError(
      `the token declares a lifetime (exp - iat) of ${lifetime} s, over the maximum of ${config.maxLifetimeSeconds} s`,
    );
  }
}

function principalOf(claims: jwt.JwtPayload): Principal {
  const role = claims['role'];
  if (typeof role !== 'string' || !ROLES.includes(role as Role))
    throw new AuthenticationError(`role ${JSON.stringify(role)} is not one of ${ROLES.join(', ')}`);
  const tenant = claims['tenant_id'];
  if (role === 'customer' && (typeof tenant !== 'string' || !TENANT_ID.test(tenant))) {
    throw new AuthenticationError(`a customer token needs a tenant_id claim matching ${TENANT_ID} (got ${JSON.stringify(tenant)})`);
  }
  return principalFor(role as Role, String(claims.sub ?? 'unknown'), role === 'customer' ? (tenant as string) : undefined);
}

/** The header, once both it and the payload are known to be JSON objects that repeat no key. */
function decodeToken(token: string): Header {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthenticationError(`a JWT has 3 dot-separated parts, this has ${parts.length}`);
  const { alg, kid } = jsonObject(parts[0] ?? '', 'header');
  // Parsed here only for the repeated-key check; jsonwebtoken parses it again, after the signature.
  jsonObject(parts[1] ?? '', 'payload');
  if (typeof alg !== 'string') throw new AuthenticationError('the header has no alg');
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid)))
    throw new AuthenticationError('the header kid is not a short printable string');
  return { alg, kid: kid as string | undefined };
}

/**
 * One base64url part as a JSON object. A repeated key is refused: JSON.parse
 * keeps the last one, and a parser that keeps the first (an issuer's, a
 * gateway's) would read another alg, role or tenant_id than we do. Linear in
 * the part, which the token limit bounds to 6 KiB of JSON.
 */
function jsonObject(part: string, name: 'header' | 'payload'): Record<string, unknown> {
  const text = Buffer.from(part, 'base64url').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthenticationError(`the ${name} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AuthenticationError(`the ${name} is not a JSON object`);
  const repeats = duplicateKeys(text);
  if (repeats.length > 0)
    throw new AuthenticationError(
      `the ${name} repeats the key${repeats.length > 1 ? 's' : ''} ${repeats
        .slice(0, 3)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    );
  return value as Record<string, unknown>;
}

async function keyFor(
  config: JwtConfig,
  header: Header,
  now: number,
  log: AuthLog | undefined,
): Promise<{ key: KeyObject | string; algorithm: jwt.Algorithm }> {
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
