import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError, DEV_JWT_SECRET, ENV_VARIABLES, loadConfig } from '../../config/config.ts';

test('defaults: embedded store, loopback, dev signing key outside production', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4000);
  assert.equal(c.store.kind, 'duckdb');
  assert.ok(c.jwt.kind === 'hmac' && c.jwt.secret === DEV_JWT_SECRET && c.jwt.isDevSecret);
  assert.equal(c.cache.freshTtlMs, 15_000);
  assert.equal(c.duckdb.readsAtOnce, 4);
  assert.equal(loadConfig({ UV_THREADPOOL_SIZE: '1' }).duckdb.readsAtOnce, 1);
});

test('a bad value fails fast, naming the variable, the value and the fix', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty' }),
    (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message) && /"eighty"/.test(e.message) && /README/.test(e.message),
  );
  assert.throws(() => loadConfig({ STRATA_CACHE_FRESH_TTL: 'soon' }), /STRATA_CACHE_FRESH_TTL: a duration such as/);
  assert.throws(() => loadConfig({ STRATA_JWT_SECRET: 'short' }), /STRATA_JWT_SECRET: at least 32 characters/);
  assert.throws(() => loadConfig({ STRATA_STORE: 'druid' }), /DRUID_URL: required when STRATA_STORE=druid/);
  assert.throws(() => loadConfig({ STRATA_CACHE: 'redis' }), /REDIS_URL: required when STRATA_CACHE=redis/);
  assert.throws(() => loadConfig({ STRATA_EVENTS: 'kafka' }), /KAFKA_BROKERS: required when STRATA_EVENTS=kafka/);
  assert.throws(() => loadConfig({ UV_THREADPOOL_SIZE: '0' }), /UV_THREADPOOL_SIZE/);
});

test('production never verifies with the development key', () => {
  assert.throws(() => loadConfig({ STRATA_ENV: 'production' }), /STRATA_JWT_PUBLIC_KEY: required when STRATA_ENV=production/);
  const pem = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
  assert.equal(loadConfig({ STRATA_ENV: 'production', STRATA_JWT_PUBLIC_KEY: pem }).jwt.kind, 'public-key');
});

test('the development secret serves only on loopback: any other HOST refuses to start, naming what to set', () => {
  for (const host of ['0.0.0.0', '::', '10.0.0.7', 'api.example']) {
    assert.throws(
      () => loadConfig({ HOST: host }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /STRATA_JWT_SECRET/.test(e.message) &&
        /STRATA_JWKS_URL/.test(e.message) &&
        e.message.includes(`HOST=${host}`),
    );
    assert.throws(
      () => loadConfig({ HOST: host, STRATA_JWT_SECRET: DEV_JWT_SECRET }),
      /development signing key is public/,
      'set explicitly, it is still the public key',
    );
    assert.equal(loadConfig({ HOST: host, STRATA_JWT_SECRET: 'a-private-secret-of-at-least-32-characters' }).jwt.kind, 'hmac');
  }
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(loadConfig({ HOST: host }).host, host);
});

test('the Docker image runs in production mode, so without a key source it refuses to start', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const env: Record<string, string> = {};
  for (const line of dockerfile.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [key, value] = pair.split('=');
      if (key && value !== undefined) env[key] = value;
    }
  }
  assert.equal(env['STRATA_ENV'], 'production');
  assert.equal(env['HOST'], '0.0.0.0');
  assert.throws(() => loadConfig(env), /STRATA_JWKS_URL or STRATA_JWT_PUBLIC_KEY: required when STRATA_ENV=production/);
  assert.throws(() => loadConfig({ ...env, STRATA_JWT_SECRET: DEV_JWT_SECRET }), /development signing key is public/);
});

test("every variable config reads is in README's configuration table", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'));
  const rows = table.split('\n').filter((line) => line.startsWith('| `'));
  const missing = ENV_VARIABLES.filter((name) => !rows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)));
  assert.deepEqual(missing, [], 'add a row (variable, default, meaning) for each');
});
