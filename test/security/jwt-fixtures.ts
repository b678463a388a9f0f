import { createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import jwt from 'jsonwebtoken';
import type { App } from '../../api/app.ts';
import type { Env } from '../../config/config.ts';
import { startReplica } from '../helpers/edge-server.ts';
import type { MetricStore } from '../../store/metric-store.ts';

/** Helpers for the jwt-*.test.ts files: signing keys, a fake JWKS server, the real HTTP edge. */

export const ISSUER = 'https://issuer.test/';
export const AUDIENCE = 'strata-api';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly alg: string;
  /** The public JWK as published (kid, use: sig). */
  readonly jwk: Record<string, unknown>;
}

export function rsaKey(kid: string, bits = 2048): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { kid, privateKey, publicKey, alg: 'RS256', jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

export function ecKey(kid: string, curve: 'prime256v1' | 'secp384r1' = 'prime256v1'): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const alg = curve === 'prime256v1' ? 'ES256' : 'ES384';
  return { kid, privateKey, publicKey, alg, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The claims of a good token, for `now` (seconds); override any of them, or drop one with undefined. */
export function claims(overrides: Record<string, unknown> = {}, now = nowSeconds()): Record<string, unknown> {
  const all: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    role: 'customer',
    tenant_id: 't-1',
    iat: now,
    exp: now + 600,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/** Signs with the key's own algorithm (RS256, ES256, ES384). A payload without iat stays without (jsonwebtoken would add one). */
export function signed(key: SigningKey, payload: Record<string, unknown> = claims(), header: Record<string, unknown> = {}): string {
  const options: jwt.SignOptions = {
    algorithm: key.alg as jwt.Algorithm,
    keyid: key.kid,
    header: { alg: key.alg, ...header },
    allowInsecureKeySizes: true,
  };
  return jwt.sign(payload, key.privateKey, { ...options, noTimestamp: !('iat' in payload) });
}

const HASH_OF: Record<string, string> = { RS256: 'sha256', ES256: 'sha256', ES384: 'sha384' };

/** The key's own signature (RS256, ES256, ES384) over any input. */
export const signatureBy =
  (key: SigningKey) =>
  (input: string): string =>
    cryptoSign(HASH_OF[key.alg] ?? 'sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');

/**
 * A token from raw JSON text, validly signed by the key: for what JSON.stringify
 * cannot write (a repeated key, 1e400). The header defaults to the key's alg and kid.
 */
export function signedText(key: SigningKey, payload: string, header = JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid })): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${signatureBy(key)(input)}`;
}

/** An object's text with one more member (such as '"role":"internal"'), written last (the one JSON.parse keeps) or first. */
export const withMember = (json: string, member: string, first = false): string =>
  first ? `{${member},${json.slice(1)}` : `${json.slice(0, -1)},${member}}`;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token assembled by hand: any header, any payload, any signature function. */
export function forged(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature: (input: string) => string = () => '',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signature(input)}`;
}

export const hmacWith =
  (secret: string, hash = 'sha256') =>
  (input: string): string =>
    createHmac(hash, secret).update(input).digest('base64url');
export const pssWith =
  (key: KeyObject) =>
  (input: string): string =>
    cryptoSign('sha256', Buffer.from(input), { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }).toString('base64url');
export const es384With =
  (key: KeyObject) =>
  (input: string): string =>
    cryptoSign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');

export const randomKid = (): string => randomUUID();

/** A JWKS endpoint on 127.0.0.1 that can rotate, fail with 500, hang, and counts fetches. */
export class FakeJwks {
  fetches = 0;
  mode: 'ok' | 'error' | 'hang' = 'ok';
  /** Answers this much later: keeps a fetch in flight while concurrent requests arrive. */
  delayMs = 0;
  private keys: Record<string, unknown>[] = [];
  private readonly server: Server;

  private constructor(
    public readonly url: string,
    server: Server,
  ) {
    this.server = server;
  }

  static async start(keys: readonly SigningKey[]): Promise<FakeJwks> {
    let self: FakeJwks | undefined;
    const server = createServer((req, res) => {
      if (!self || req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      self.fetches += 1;
      if (self.mode === 'hang') return; // never answers; the client's timeout must end it
      if (self.mode === 'error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
      const body = JSON.stringify({ keys: self.keys });
      const answer = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (self.delayMs > 0) setTimeout(answer, self.delayMs);
      else answer();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    self = new FakeJwks(`http://127.0.0.1:${port}/.well-known/jwks.json`, server);
    self.publish(keys);
    return self;
  }

  /** Replaces the published set (rotation). */
  publish(keys: readonly SigningKey[], extra: readonly Record<string, unknown>[] = []): void {
    this.keys = [...keys.map((k) => k.jwk), ...extra];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }
}

/** The app behind the real node:http edge on 127.0.0.1 (port 0). */
export interface Edge {
  readonly app: App;
  readonly url: string;
  close(): Promise<void>;
}

export async function startEdge(store: MetricStore, env: Partial<Record<keyof Env, string>>): Promise<Edge> {
  // The wall clock, not the fixtures' fixed one: tokens here are signed and checked against real time.
  const replica = await startReplica(store, { STRATA_NOW: undefined, STRATA_JWT_ISSUER: ISSUER, STRATA_JWT_AUDIENCE: AUDIENCE, ...env });
  return { app: replica.app, url: `${replica.base}/graphql`, close: replica.stop };
}

export interface Answer {
  readonly status: number;
  readonly wwwAuthenticate: string | null;
  readonly text: string;
}

/** POSTs one small query (or `body`) with the token, if any. */
export async function ask(url: string, token: string | undefined, body = '{"query":"{ metrics { name } }"}'): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), text: await response.text() };
}
