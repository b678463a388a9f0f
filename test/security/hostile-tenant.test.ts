import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { MetricStore, StoreRequest } from '../../store/metric-store.ts';
import { breakersOpen } from '../../observability/metrics.ts';
import { seededStore } from '../helpers/fixture.ts';
import { mintDevToken } from '../../auth/mint-token.ts';
import { post, slowStore, startReplica, type Replica } from '../helpers/edge-server.ts';

/**
 * What one hostile customer could do to the others, each through the real
 * HTTP edge: hang-ups that opened the shared breaker, failures of its own that
 * denied everyone, slow bodies that held every in-flight slot, a backlog that
 * queued everyone behind it. Each test shows the other tenant served.
 */
const M = 'io.confluent.kafka.server/';
let store: DuckDbStore;
const clusters = new Map<string, string>();

/** A cold (never cached) question: a different interval each time. */
const cold = (tenant: string, hours: number): string =>
  JSON.stringify({
    query: `{ timeseries(query: { metric: "${M}received_bytes", granularity: PT1H, interval: "now-${hours}h/now",
      filter: { field: "resource_id", op: EQ, value: "${clusters.get(tenant)}" } }) { series { points { value } } } }`,
  });

const NO_REPLAY = { STRATA_RESPONSE_CACHE_TTL: '0' } as const;

/** `n` distinct tokens of one customer tenant (each its own subject). */
const tokensOf = (r: Replica, tenantId: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => mintDevToken(r.config.jwt, { role: 'customer', tenantId, subject: `user-${i}`, ttlSeconds: 3600 }));

before(async () => {
  store = await seededStore();
  for (const tenant of ['t-1', 't-2', 't-3']) {
    const [row] = await store.read(`SELECT resource_id FROM resources WHERE tenant_id = ? ORDER BY 1 LIMIT 1`, [tenant]);
    clusters.set(tenant, String(row?.['resource_id']));
  }
});
after(async () => store.close());

/** Fires a request and hangs up after `ms`. */
async function hangUp(url: string, token: string, body: string, ms: number): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
    signal: controller.signal,
  }).catch(() => undefined);
  clearTimeout(timer);
}

test("hang-ups are the caller's own: 16 dropped requests of one tenant never open the store breaker for another", async () => {
  const r = await startReplica(slowStore(store, 300), NO_REPLAY);
  try {
    const tokens = tokensOf(r, 't-1', 2);
    await Promise.all(Array.from({ length: 16 }, (_, i) => hangUp(`${r.base}/graphql`, tokens[i % 2]!, cold('t-1', 2 + i), 50)));
    await new Promise((resolve) => setTimeout(resolve, 400)); // the abandoned store queries end
    const other = await post(`${r.base}/graphql`, r.token('customer', 't-2'), cold('t-2', 5));
    assert.equal(other.status, 200);
    assert.equal(other.body.errors, undefined, JSON.stringify(other.body.errors));
    const own = await post(`${r.base}/graphql`, tokens[0]!, cold('t-1', 30));
    assert.equal(own.body.errors, undefined, 'nor for the tenant that hung up');
  } finally {
    await r.stop();
  }
});

/** The breakers open now, as /metrics reports them. */
async function gauge(lane: string, level: string): Promise<number> {
  const metric = (await breakersOpen.get()).values.find((v) => v.labels.lane === lane && v.labels.level === level);
  return metric?.value ?? 0;
}

/** A store that fails every piece query of the named tenants (connection trouble, say) and answers the rest. */
function failingFor(tenants: Set<string>): MetricStore & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = Object.create(store) as MetricStore;
  return Object.assign(wrapped, {
    calls,
    queryPieces: async (request: StoreRequest) => {
      const scope = request.pieces[0]?.scope;
      const tenant = scope?.kind === 'tenant' ? scope.tenantId : '*';
      calls.set(tenant, (calls.get(tenant) ?? 0) + 1);
      if (tenants.has(tenant)) throw new Error('connection reset by the store');
      return store.queryPieces(request);
    },
  });
}

test("one tenant's store failures open its own breaker only; an outage many tenants see opens the lane's", async () => {
  const failing = new Set(['t-1']);
  const flaky = failingFor(failing);
  const r = await startReplica(flaky, { ...NO_REPLAY, STRATA_BREAKER_RESET: '2s' });
  try {
    const [t1, t2, t3] = ['t-1', 't-2', 't-3'].map((t) => r.token('customer', t)) as [string, string, string];
    for (let i = 0; i < 8; i++) await post(`${r.base}/graphql`, t1, cold('t-1', 2 + i));
    const refused = await post(`${r.base}/graphql`, t1, cold('t-1', 20));
    assert.match(refused.body.errors?.[0]?.message ?? '', /stopped calling it/, "the failing tenant's own breaker opened");
    for (let i = 0; i < 8; i++) {
      const other = await post(`${r.base}/graphql`, t2, cold('t-2', 2 + i));
      assert.equal(other.body.errors, undefined, `another tenant is served (${JSON.stringify(other.body.errors)})`);
    }
    assert.equal(await gauge('customer', 'lane'), 0, "one tenant's failures never open the lane's breaker");
    assert.equal(await gauge('customer', 'caller'), 1);
    // Now the store fails for t-2 and t-3 too: once their breakers open as well, the lane's opens for everyone.
    failing.add('t-2').add('t-3');
    for (const token of [t2, t3])
      for (let i = 0; i < 12; i++) await post(`${r.base}/graphql`, token, cold(token === t2 ? 't-2' : 't-3', 40 + i));
    assert.equal(await gauge('customer', 'lane'), 1, "three tenants' breakers opened: the customer lane's opened too");
    assert.equal(await gauge('internal', 'lane'), 0, 'other lanes are not refused');
  } finally {
    await r.stop();
  }
});

/** Opens a socket that sends a request's headers and then a byte of its body now and then, never finishing. */
function slowBody(port: number, token: string): { close: () => void; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
  );
  const drip = setInterval(() => socket.write(' '), 200);
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  return { close: () => (clearInterval(drip), socket.destroy()), answer: answer.finally(() => clearInterval(drip)) };
}

test('slow bodies hold no execution slot: 64 sockets of one token leave /graphql and /export to everyone else, and are cut at the body deadline', async () => {
  const r = await startReplica(store, { ...NO_REPLAY, STRATA_BODY_TIMEOUT: '1500ms' });
  try {
    const port = Number(new URL(r.base).port);
    const attacker = r.token('customer', 't-1');
    const slow = Array.from({ length: 64 }, () => slowBody(port, attacker));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const victim = r.token('customer', 't-2');
    const answered = await post(`${r.base}/graphql`, victim, cold('t-2', 6));
    assert.equal(answered.status, 200);
    assert.equal(answered.body.errors, undefined);
    const exported = await fetch(`${r.base}/export?resource.kafka.id=${clusters.get('t-2')}`, {
      headers: { authorization: `Bearer ${victim}` },
    });
    assert.equal(exported.status, 200);
    const answers = await Promise.all(slow.map((s) => s.answer));
    const statuses = answers.map((a) => /^HTTP\/1\.1 (\d{3})/.exec(a)?.[1]);
    assert.equal(statuses.filter((s) => s === '408').length, 12, 'the token share (12) waited for its body and was cut at the deadline');
    assert.equal(statuses.filter((s) => s === '429').length, 52, 'the rest were refused at once: the token has 12 requests in progress');
    assert.match(answers.find((a) => a.startsWith('HTTP/1.1 408')) ?? '', /REQUEST_TIMEOUT/);
    for (const s of slow) s.close();
  } finally {
    await r.stop();
  }
});

test('per-tenant and per-token shares of requests in progress: 429 with Retry-After past them, other tenants unaffected', async () => {
  const r = await startReplica(slowStore(store, 400), {
    ...NO_REPLAY,
    STRATA_MAX_IN_FLIGHT_PER_TENANT: '4',
    STRATA_MAX_IN_FLIGHT_PER_TOKEN: '3',
  });
  try {
    const [one, another] = tokensOf(r, 't-1', 2) as [string, string];
    const byToken = await Promise.all(Array.from({ length: 4 }, (_, i) => post(`${r.base}/graphql`, one, cold('t-1', 2 + i))));
    assert.deepEqual(byToken.map((a) => a.status).sort(), [200, 200, 200, 429]);
    const refused = byToken.find((a) => a.status === 429)!;
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.body.errors?.[0]?.message ?? '', /This token has 3 requests in progress/);
    const byTenant = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => post(`${r.base}/graphql`, one, cold('t-1', 10 + i))),
      ...Array.from({ length: 3 }, (_, i) => post(`${r.base}/graphql`, another, cold('t-1', 20 + i))),
      post(`${r.base}/graphql`, r.token('customer', 't-2'), cold('t-2', 3)),
    ]);
    assert.equal(
      byTenant.filter((a) => a.status === 200).length,
      5,
      `four of the tenant, and the other tenant: ${JSON.stringify(byTenant.map((a) => [a.status, a.body.errors?.[0]?.message]))}`,
    );
    assert.equal(byTenant.at(-1)?.status, 200, 'the other tenant is unaffected');
    assert.match(byTenant.find((a) => a.status === 429)?.body.errors?.[0]?.message ?? '', /This tenant has 4 requests in progress/);
  } finally {
    await r.stop();
  }
});

/** A store that runs `capacity` queries at once (like DuckDB's read connections), each `ms` long, in arrival order. */
function boundedStore(capacity: number, ms: number): MetricStore & { started: string[] } {
  const started: string[] = [];
  let running = 0;
  const waiting: (() => void)[] = [];
  const wrapped = Object.create(store) as MetricStore;
  return Object.assign(wrapped, {
    started,
    queryPieces: async (request: StoreRequest) => {
      if (running >= capacity) await new Promise<void>((resolve) => waiting.push(resolve));
      else running += 1;
      const scope = request.pieces[0]?.scope;
      started.push(scope?.kind === 'tenant' ? scope.tenantId : '*');
      try {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return await store.queryPieces(request);
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
  });
}

test("a tenant's backlog never queues another tenant behind it: at most its store slots run at once", async () => {
  const bounded = boundedStore(4, 150);
  const r = await startReplica(bounded, NO_REPLAY);
  try {
    const tokens = tokensOf(r, 't-1', 2);
    const backlog = Array.from({ length: 14 }, (_, i) => post(`${r.base}/graphql`, tokens[i % 2]!, cold('t-1', 2 + i)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const other = await post(`${r.base}/graphql`, r.token('customer', 't-2'), cold('t-2', 7));
    assert.equal(other.body.errors, undefined);
    const answers = await Promise.all(backlog);
    assert.ok(
      answers.every((a) => a.status === 200 && a.body.errors === undefined),
      'the backlog is answered, two at a time',
    );
    const position = bounded.started.indexOf('t-2');
    assert.ok(
      position <= 2,
      `t-2 started behind ${position} of t-1's queries, not behind its backlog (order: ${bounded.started.join(' ')})`,
    );
  } finally {
    await r.stop();
  }
});
