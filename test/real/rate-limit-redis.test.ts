import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReadiness } from '../../api/http/readiness.ts';
import { seededStore } from '../helpers/fixture.ts';
import { post, startReplica } from '../helpers/edge-server.ts';
import { privateRedis } from '../helpers/services.ts';

/**
 * Quotas are shared by every replica through Redis (real redis-server), and a
 * Redis outage never makes anyone unlimited: a per-process insurance quota
 * (half the shared one) takes over within the command timeout.
 */
const resources = JSON.stringify({ query: '{ resources { id } }' });

test('two replicas spend one tenant budget in Redis; with Redis dead the insurance quota still limits and readiness says degraded', async () => {
  const store = await seededStore();
  const redis = await privateRedis();
  const env = { STRATA_CACHE: 'redis', REDIS_URL: redis.url, STRATA_RATE_LIMIT: '6', STRATA_TOKEN_RATE_LIMIT: '1000' } as const;
  const a = await startReplica(store, env);
  const b = await startReplica(store, env);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await post(`${(i % 2 ? b : a).base}/graphql`, a.token('customer', 't-1'), resources)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429], 'six in total across both replicas');
    assert.equal((await post(`${b.base}/graphql`, b.token('customer', 't-2'), resources)).status, 200);

    assert.equal((await checkReadiness(a.app, false)).body.status, 'ready');
    redis.stop();
    // Readiness shows the cache down but stays 200: queries fall through to the store.
    const degraded = await checkReadiness(a.app, false);
    assert.deepEqual([degraded.httpStatus, degraded.body.status, degraded.body.checks['cache']?.ok], [200, 'degraded', false]);
    const during: { status: number; ms: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const answer = await post(`${a.base}/graphql`, a.token('customer', 't-3'), resources);
      during.push({ status: answer.status, ms: performance.now() - started });
    }
    assert.deepEqual(
      during.map((d) => d.status),
      [200, 200, 200, 429, 429, 429],
      'the per-process insurance quota (6 / 2) applies while Redis is down',
    );
  } finally {
    await a.stop();
    await b.stop();
    redis.stop();
    await store.close();
  }
});
