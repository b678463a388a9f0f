import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintDevToken } from '../auth/mint-token.ts';
import { newAggregationEvent } from '../events/aggregation-event.ts';
import { attachSubscriptions, DEFAULT_SUBSCRIPTION_LIMITS } from '../api/graphql/subscription-server.ts';
import { END, seededStore } from './helpers/fixture.ts';
import { post, startReplica, type Replica } from './helpers/edge-server.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';

const RECEIVED = 'io.confluent.kafka.server/received_bytes';
const SENT = 'io.confluent.kafka.server/sent_bytes';
const HOUR = 3_600_000;
const LANDED = `subscription Landed($metrics: [String!]) {
  aggregationLanded(metrics: $metrics) { eventId rollup interval { start end } tenants metrics publishedAt }
}`;

interface Landed {
  eventId: string;
  rollup: string;
  interval: { start: string; end: string };
  tenants: string[];
  metrics: string[];
}

let store: DuckDbStore;
let replica: Replica;
let wsUrl: string;
const clients: Client[] = [];

function client(token: string): Client {
  const c = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  clients.push(c);
  return c;
}

/** A subscription's notices, read one at a time. */
function subscribe(
  c: Client,
  metrics?: string[],
): AsyncIterableIterator<{ data?: { aggregationLanded: Landed } | null; errors?: unknown }> {
  return c.iterate({ query: LANDED, variables: metrics ? { metrics } : {} }) as AsyncIterableIterator<{
    data?: { aggregationLanded: Landed } | null;
    errors?: unknown;
  }>;
}

async function nextLanded(sub: AsyncIterableIterator<{ data?: { aggregationLanded: Landed } | null; errors?: unknown }>): Promise<Landed> {
  const { value, done } = await sub.next();
  assert.equal(done, false, 'the subscription ended');
  assert.equal(value.errors, undefined, JSON.stringify(value.errors));
  assert.ok(value.data);
  return value.data.aggregationLanded;
}

/** Waits until the feed holds exactly `n` subscribers (the test's timeout bounds the wait). */
async function subscribers(n: number): Promise<void> {
  while (replica.app.landed.size !== n) await new Promise((r) => setTimeout(r, 10));
}

async function publish(tenants: string[], metrics: string[], hour: number): Promise<string> {
  const start = END - (10 - hour) * HOUR;
  const event = newAggregationEvent('rollup_1h', { start, end: start + HOUR }, tenants, metrics, END);
  await replica.app.bus.publish(event);
  return event.eventId;
}

/** Opens a raw graphql-transport-ws socket, sends connection_init, and returns how the server closed it. */
async function closeOf(payload: Record<string, unknown> | undefined, url = wsUrl): Promise<{ code: number; reason: string }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) }));
  const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

before(async () => {
  store = await seededStore();
  replica = await startReplica(store);
  wsUrl = `${replica.base.replace('http://', 'ws://')}/graphql`;
});

after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await replica.stop();
  await store.close();
});

describe('aggregationLanded over WebSocket', { timeout: 30_000 }, () => {
  it('delivers an event to the tenant it names only, and to internal', async () => {
    const one = subscribe(client(replica.token('customer', 't-1')));
    const two = subscribe(client(replica.token('customer', 't-2')));
    const all = subscribe(client(replica.token('internal')));
    await subscribers(3);
    const forOne = await publish(['t-1'], [RECEIVED], 0);
    const forTwo = await publish(['t-2'], [RECEIVED], 1);
    const both = await publish(['t-1', 't-2', 't-3'], [RECEIVED, SENT], 2);

    const first = await nextLanded(one);
    assert.deepEqual([first.eventId, first.rollup, first.tenants, first.metrics], [forOne, 'rollup_1h', ['t-1'], [RECEIVED]]);
    assert.equal(first.interval.end, new Date(END - 9 * HOUR).toISOString());
    // In-order delivery: t-2's first notice is its own event, so t-1's never reached it.
    const second = await nextLanded(two);
    assert.equal(second.eventId, forTwo);
    // An event naming several tenants names only the subscriber's own to a customer.
    assert.deepEqual((await nextLanded(one)).tenants, ['t-1']);
    const shared = await nextLanded(two);
    assert.deepEqual([shared.eventId, shared.tenants], [both, ['t-2']]);
    // Internal hears of every event, with every tenant.
    assert.deepEqual([(await nextLanded(all)).eventId, (await nextLanded(all)).eventId], [forOne, forTwo]);
    assert.deepEqual((await nextLanded(all)).tenants, ['t-1', 't-2', 't-3']);
    await Promise.all([one.return?.(), two.return?.(), all.return?.()]);
  });

  it('filters by metric: an event for another metric is not delivered', async () => {
    const filtered = subscribe(client(replica.token('customer', 't-1')), [SENT]);
    await subscribers(1);
    await publish(['t-1'], [RECEIVED], 3);
    const wanted = await publish(['t-1'], [RECEIVED, SENT], 4);
    const notice = await nextLanded(filtered);
    assert.deepEqual([notice.eventId, notice.metrics], [wanted, [SENT]]);
    await filtered.return?.();
  });

  it('refuses a bad, a missing or an expired token with 4401 at connection time', async () => {
    const forged = `${replica.token('customer', 't-1').slice(0, -4)}AAAA`;
    const expired = mintDevToken(replica.config.jwt, { role: 'customer', tenantId: 't-1', ttlSeconds: -120 });
    const payloads = [
      { authorization: `Bearer ${forged}` },
      { authorization: expired },
      { authorization: 'Bearer not.a.jwt' },
      { authorization: 42 },
      {},
      undefined,
    ];
    for (const payload of payloads) {
      const closed = await closeOf(payload);
      assert.equal(closed.code, 4401, JSON.stringify(payload));
      assert.match(closed.reason, /Unauthorized: send connectionParams/);
    }
    assert.equal(replica.app.landed.size, 0);
  });

  it('closes a connection (4401) when its token expires', async () => {
    const shortLived = mintDevToken(replica.config.jwt, { role: 'customer', tenantId: 't-1', ttlSeconds: 1 });
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${shortLived}` } }));
    const [ack] = (await once(socket, 'message')) as [Buffer];
    assert.equal(JSON.parse(ack.toString()).type, 'connection_ack');
    const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
    assert.deepEqual([code, reason.toString()], [4401, 'Unauthorized: the token expired; reconnect with a fresh one']);
  });

  it('bounds connections per process and subscriptions per connection, and closes with 1001 on shutdown', async () => {
    const server = createServer();
    const live = attachSubscriptions(server, replica.app, {
      ...DEFAULT_SUBSCRIPTION_LIMITS,
      maxConnections: 1,
      maxSubscriptionsPerConnection: 2,
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
    const token = replica.token('customer', 't-1');
    const c = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: token }, retryAttempts: 0 });
    const subs = [subscribe(c), subscribe(c)];
    await subscribers(2);
    await assert.rejects(subscribe(c).next(), (errors: unknown) => /holds 2 subscriptions, the limit/.test(JSON.stringify(errors)));
    const refused = new WebSocket(url, 'graphql-transport-ws');
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 503);
    const closed = new Promise<number>((resolve) => c.on('closed', (event) => resolve((event as { code: number }).code)));
    await live.close();
    assert.equal(await closed, 1001);
    await Promise.all(subs.map((s) => s.return?.()));
    await c.dispose();
    server.close();
  });

  it('rejects an unknown metric, a query over WebSocket and an upgrade elsewhere', async () => {
    const c = client(replica.token('customer', 't-1'));
    const unknown = await subscribe(c, ['nope/metric']).next();
    assert.match(JSON.stringify(unknown.value), /UNKNOWN_METRIC/);
    await assert.rejects(c.iterate({ query: '{ metrics { name } }' }).next(), (errors: unknown) =>
      /POST \/graphql/.test(JSON.stringify(errors)),
    );
    const elsewhere = new WebSocket(`${replica.base.replace('http://', 'ws://')}/other`, 'graphql-transport-ws');
    const [, response] = (await once(elsewhere, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 404);
  });

  it('answers a subscription sent over HTTP with a clear error', async () => {
    const answer = await post(`${replica.base}/graphql`, replica.token('internal'), JSON.stringify({ query: LANDED }));
    assert.equal(answer.code, 'BAD_REQUEST');
    assert.match(answer.body.errors?.[0]?.message ?? '', /WebSocket/);
  });
});
