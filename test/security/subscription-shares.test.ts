import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintDevToken } from '../../auth/mint-token.ts';
import type { Env } from '../../config/config.ts';
import { newAggregationEvent } from '../../events/aggregation-event.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { END, seededStore } from '../helpers/fixture.ts';
import { startReplica, type Replica } from '../helpers/edge-server.ts';

/**
 * Each tenant's and token's share of the WebSocket edge, through a real
 * server on 127.0.0.1 and real clients: connections per tenant and per token
 * (refused at connection_init with 1013), subscriptions per tenant, idle
 * unauthenticated sockets that must not lock tenants out, and shares given
 * back on close. Every test starts its own replica with small limits.
 */
const RECEIVED = 'io.confluent.kafka.server/received_bytes';
const HOUR = 3_600_000;
const LANDED = 'subscription { aggregationLanded { eventId tenants } }';
const SHORT = { timeout: 20_000 };

interface Next {
  data?: { aggregationLanded: { eventId: string; tenants: string[] } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** How a connection_init ended: acknowledged, or closed with a code and a reason. */
interface Opened {
  readonly socket: WebSocket;
  readonly acked: boolean;
  readonly code?: number;
  readonly reason?: string;
}

let store: DuckDbStore;
let replica: Replica | undefined;
const sockets: WebSocket[] = [];
const clients: Client[] = [];

before(async () => {
  store = await seededStore();
});
after(async () => store.close());

async function start(env: Partial<Record<keyof Env, string>>): Promise<{ replica: Replica; url: string }> {
  replica = await startReplica(store, env);
  return { replica, url: `${replica.base.replace('http://', 'ws://')}/graphql` };
}

/** Ends what a test opened, even when it failed halfway. */
async function stop(): Promise<void> {
  for (const socket of sockets.splice(0)) {
    // A socket refused at upgrade is still connecting: terminating it reports an error nobody waits for.
    socket.once('error', () => undefined);
    socket.terminate();
  }
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await replica?.stop();
  replica = undefined;
}

/** Distinct subjects make distinct tokens of one tenant (same role, same second). */
const tokenOf = (r: Replica, tenantId: string, subject = 'user'): string =>
  mintDevToken(r.config.jwt, { role: 'customer', tenantId, subject, ttlSeconds: 3600 });

/** A raw graphql-transport-ws socket that sends connection_init with `token` and waits for the ack or the close. */
async function open(url: string, token: string): Promise<Opened> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  sockets.push(socket);
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  return new Promise((resolve) => {
    socket.once('message', (data: Buffer) => resolve({ socket, acked: JSON.parse(data.toString()).type === 'connection_ack' }));
    socket.once('close', (code: number, reason: Buffer) => resolve({ socket, acked: false, code, reason: reason.toString() }));
  });
}

function assertShareRefusal(opened: Opened, pattern: RegExp): void {
  assert.equal(opened.acked, false, 'the connection was admitted past its share');
  assert.equal(opened.code, 1013);
  assert.match(opened.reason ?? '', pattern);
  assert.ok(Buffer.byteLength(opened.reason ?? '') <= 123, 'a close reason holds at most 123 bytes');
}

/** A share is given back when the server sees the close, a moment after the client does: retry a bounded number of times. */
async function admittedEventually(url: string, token: string): Promise<Opened> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const opened = await open(url, token);
    if (opened.acked) return opened;
    assert.equal(opened.code, 1013, `refused otherwise than by a share: ${opened.code} ${opened.reason}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the share was never given back');
}

function client(url: string, token: string): Client {
  const c = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  clients.push(c);
  return c;
}

const subscribe = (c: Client): AsyncIterableIterator<Next> => c.iterate({ query: LANDED }) as AsyncIterableIterator<Next>;

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

async function publish(r: Replica, tenants: string[], hour: number): Promise<string> {
  const startAt = END - (10 - hour) * HOUR;
  const event = newAggregationEvent('rollup_1h', { start: startAt, end: startAt + HOUR }, tenants, [RECEIVED], END);
  await r.app.bus.publish(event);
  return event.eventId;
}

/** The next notice of a subscription, which must be one. */
async function noticeOf(sub: AsyncIterableIterator<Next>): Promise<{ eventId: string; tenants: string[] }> {
  const { value, done } = await sub.next();
  assert.equal(done, false, 'the subscription ended');
  assert.equal(value.errors, undefined, JSON.stringify(value.errors));
  assert.ok(value.data);
  return value.data.aggregationLanded;
}

test(
  'a tenant at its connection share is refused (1013) at connection_init while another tenant connects and hears its notice',
  SHORT,
  async () => {
    try {
      const { replica: r, url } = await start({ STRATA_WS_CONNECTIONS_PER_TENANT: '3', STRATA_WS_CONNECTIONS_PER_TOKEN: '2' });
      const [a, b, c] = [tokenOf(r, 't-1', 'a'), tokenOf(r, 't-1', 'b'), tokenOf(r, 't-1', 'c')];
      for (const token of [a, a, b]) assert.equal((await open(url, token)).acked, true);
      // A fresh token does not widen the tenant's share.
      assertShareRefusal(await open(url, c), /3 per tenant is the limit/);
      const other = subscribe(client(url, tokenOf(r, 't-2')));
      await until(() => r.app.landed.heldBy('t:t-2') === 1);
      const eventId = await publish(r, ['t-1', 't-2'], 0);
      assert.deepEqual(await noticeOf(other), { eventId, tenants: ['t-2'] });
      await other.return?.();
    } finally {
      await stop();
    }
  },
);

test('a token at its share is refused (1013) while another token of the same tenant still connects', SHORT, async () => {
  try {
    const { replica: r, url } = await start({ STRATA_WS_CONNECTIONS_PER_TOKEN: '2' });
    const [a, b] = [tokenOf(r, 't-1', 'a'), tokenOf(r, 't-1', 'b')];
    for (const token of [a, a]) assert.equal((await open(url, token)).acked, true);
    assertShareRefusal(await open(url, a), /2 per token is the limit/);
    assert.equal((await open(url, b)).acked, true, 'the tenant share (25) has room for another token');
  } finally {
    await stop();
  }
});

test('subscriptions per tenant are capped across its connections while another tenant still subscribes', SHORT, async () => {
  try {
    const { replica: r, url } = await start({ STRATA_SUBSCRIPTIONS_PER_TENANT: '3', STRATA_MAX_SUBSCRIPTIONS: '5' });
    const [one, two] = [client(url, tokenOf(r, 't-1', 'a')), client(url, tokenOf(r, 't-1', 'b'))];
    const held = [subscribe(one), subscribe(one), subscribe(two)];
    await until(() => r.app.landed.heldBy('t:t-1') === 3);
    const refused = await subscribe(two).next();
    assert.equal(refused.value.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.match(refused.value.errors?.[0]?.message ?? '', /3 live subscriptions per tenant; complete one/);
    const other = subscribe(client(url, tokenOf(r, 't-2')));
    await until(() => r.app.landed.heldBy('t:t-2') === 1);
    const eventId = await publish(r, ['t-1', 't-2'], 1);
    assert.deepEqual(await noticeOf(other), { eventId, tenants: ['t-2'] });
    assert.deepEqual(await noticeOf(held[0] ?? other), { eventId, tenants: ['t-1'] });
    // A completed subscription gives its slot back.
    await held[2]?.return?.();
    await until(() => r.app.landed.heldBy('t:t-1') === 2);
    const again = subscribe(two);
    await until(() => r.app.landed.heldBy('t:t-1') === 3);
    // STRATA_MAX_SUBSCRIPTIONS still bounds the process: 3 + 1 + 1 = 5.
    const third = subscribe(client(url, tokenOf(r, 't-3')));
    await until(() => r.app.landed.size === 5);
    const full = await subscribe(client(url, tokenOf(r, 't-3', 'b'))).next();
    assert.equal(full.value.errors?.[0]?.extensions?.code, 'OVERLOADED');
    await Promise.all([...held, other, again, third].map((s) => s.return?.()));
  } finally {
    await stop();
  }
});

test(
  'a flood of unauthenticated sockets past the pending bound does not stop a tenant from connecting and subscribing',
  SHORT,
  async () => {
    try {
      // 10 connections: at most 2 (a fifth) may await connection_init.
      const { replica: r, url } = await start({ STRATA_WS_MAX_CONNECTIONS: '10' });
      const evictions: { code: number; reason: string }[] = [];
      const flood: WebSocket[] = [];
      for (let i = 0; i < 15; i += 1) {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        sockets.push(socket);
        flood.push(socket);
        socket.once('close', (code: number, reason: Buffer) => evictions.push({ code, reason: reason.toString() }));
        await once(socket, 'open'); // every upgrade succeeds: none is refused behind idle sockets
      }
      await until(() => evictions.length === 13);
      assert.ok(
        evictions.every((e) => e.code === 4408 && /too many sockets await connection_init/.test(e.reason)),
        JSON.stringify(evictions[0]),
      );
      const sub = subscribe(client(url, tokenOf(r, 't-1')));
      await until(() => r.app.landed.heldBy('t:t-1') === 1);
      assert.equal((await open(url, tokenOf(r, 't-2'))).acked, true);
      const eventId = await publish(r, ['t-1'], 2);
      assert.deepEqual(await noticeOf(sub), { eventId, tenants: ['t-1'] });
      assert.ok(flood.filter((s) => s.readyState === WebSocket.OPEN).length <= 2, 'idle sockets stay within the pending bound');
      await sub.return?.();
    } finally {
      await stop();
    }
  },
);

test('STRATA_WS_MAX_CONNECTIONS bounds authenticated connections: past it an upgrade gets 503', SHORT, async () => {
  try {
    const { replica: r, url } = await start({ STRATA_WS_MAX_CONNECTIONS: '4' });
    for (const tenant of ['t-1', 't-1', 't-2', 't-3']) assert.equal((await open(url, tokenOf(r, tenant))).acked, true);
    const refused = new WebSocket(url, 'graphql-transport-ws');
    sockets.push(refused);
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 503);
  } finally {
    await stop();
  }
});

test('closed connections give their share back, also those closed before connection_init completes', SHORT, async () => {
  try {
    const { replica: r, url } = await start({ STRATA_WS_CONNECTIONS_PER_TENANT: '2' });
    const token = tokenOf(r, 't-1');
    // Sockets that go away mid-handshake, before or after the server verified their token.
    for (let i = 0; i < 10; i += 1) {
      const socket = new WebSocket(url, 'graphql-transport-ws');
      sockets.push(socket);
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
      socket.terminate();
    }
    const first = await admittedEventually(url, token);
    assert.equal((await admittedEventually(url, token)).acked, true);
    assertShareRefusal(await open(url, token), /2 per tenant is the limit/);
    first.socket.close(1000);
    assert.equal((await admittedEventually(url, token)).acked, true);
    assertShareRefusal(await open(url, token), /2 per tenant is the limit/);
  } finally {
    await stop();
  }
});

test(
  'a client that authenticates at the upgrade (Authorization header) holds its share at once: a flood of unauthenticated sockets cannot evict it',
  SHORT,
  async () => {
    try {
      const { replica: r, url } = await start({ STRATA_WS_MAX_CONNECTIONS: '10', STRATA_WS_CONNECTIONS_PER_TENANT: '2' });
      const withHeader = (token: string): WebSocket => {
        const socket = new WebSocket(url, 'graphql-transport-ws', { headers: { authorization: `Bearer ${token}` } });
        sockets.push(socket);
        return socket;
      };
      const early = withHeader(tokenOf(r, 't-1'));
      await once(early, 'open');
      // It has not sent connection_init yet, and still outlives a flood that evicts every idle socket.
      for (let i = 0; i < 15; i += 1) await once(sockets[sockets.push(new WebSocket(url, 'graphql-transport-ws')) - 1]!, 'open');
      assert.equal(early.readyState, WebSocket.OPEN, 'the early, authenticated socket was not evicted');
      early.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      const [ack] = (await once(early, 'message')) as [Buffer];
      assert.equal(JSON.parse(ack.toString()).type, 'connection_ack', 'connection_init needs no token again');
      const second = withHeader(tokenOf(r, 't-1', 'other'));
      await once(second, 'open');
      const third = withHeader(tokenOf(r, 't-1', 'third'));
      const [code, reason] = (await once(third, 'close')) as [number, Buffer];
      assert.equal(code, 1013, 'past the tenant share, as at connection_init');
      assert.match(reason.toString(), /2 per tenant is the limit/);
      const refused = new WebSocket(url, 'graphql-transport-ws', { headers: { authorization: 'Bearer not-a-token' } });
      sockets.push(refused);
      const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
      assert.equal(response.statusCode, 401, 'a header that does not verify is refused before any WebSocket exists');
    } finally {
      await stop();
    }
  },
);
