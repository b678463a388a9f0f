/**
 * The hostile tenant's socket attacks (test/helpers/hostile-tenant.ts runs them):
 * slow bodies over raw TCP, and graphql-transport-ws connections, subscribing or idle.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';
import { codeOf, count, live, sleep, tokenOf, type Target } from './hostile-target.ts';

/**
 * A POST /graphql whose body never ends: headers and a Content-Length, then a
 * byte a second. Once the server answers (408, 429) the socket is dropped and
 * another opened: after a 429 a second later, as the drip would have. The
 * sockets open from a fifth of the run on, 20 ms apart: held bodies fill the
 * tenant's share of requests in progress, and the other attacks should meet
 * the bounds behind it first (a 408 needs the run to last 12 s or more).
 */
export async function slowBody(t: Target, worker: number, startAt: number): Promise<void> {
  await sleep(startAt - Date.now());
  while (live(t)) {
    const outcome = await dripPost(t, tokenOf(t, worker));
    count('slowBody', outcome);
    if (live(t)) await sleep(outcome.startsWith('429') ? 1_000 : 25);
  }
}

function dripPost(t: Target, token: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect(t.port, '127.0.0.1');
    let status = '';
    const drip = setInterval(() => socket.write(' '), 1_000);
    const destroy = (): void => void socket.destroy();
    t.stop.signal.addEventListener('abort', destroy, { once: true });
    socket.on('connect', () =>
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{`,
      ),
    );
    socket.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      const code = codeOf(text);
      status ||= `${/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? '???'}${code ? `:${code}` : ''}`;
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      t.stop.signal.removeEventListener('abort', destroy);
      resolve(status || (live(t) ? 'closed' : 'held to the end'));
    });
  });
}

const SUBSCRIBE = (i: number): string =>
  JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { aggregationLanded { eventId tenants } }' } });

/** An authenticated WebSocket that subscribes 20 times and holds on; reopened a second after a close. */
export async function subscriber(t: Target, worker: number, wsUrl: string): Promise<void> {
  const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokenOf(t, worker)}` } });
  while (live(t)) {
    const outcome = await socketRun(
      t,
      wsUrl,
      (socket) => socket.send(init),
      (socket, message) => {
        if (message.type === 'connection_ack') {
          count('ws', 'ws:acked');
          for (let i = 0; i < 20; i++) socket.send(SUBSCRIBE(i));
        } else if (message.type === 'error') count('wsSubscribe', `ws:error:${codeOf(JSON.stringify(message)) ?? 'none'}`);
      },
    );
    count('ws', outcome);
    if (live(t)) await sleep(1_000);
  }
}

/** A socket that upgrades and never sends connection_init; reopened a second after a close. */
export async function idleSocket(t: Target, wsUrl: string): Promise<void> {
  while (live(t)) {
    count(
      'wsIdle',
      await socketRun(
        t,
        wsUrl,
        () => undefined,
        () => undefined,
      ),
    );
    if (live(t)) await sleep(1_000);
  }
}

/** Opens a graphql-transport-ws socket; answers how it ended: `ws:close:CODE`, `ws:upgrade:STATUS`, `ws:error:…`, or `ws:held` (open at the end). */
function socketRun(
  t: Target,
  url: string,
  onOpen: (s: WebSocket) => void,
  onMessage: (s: WebSocket, m: { type?: string }) => void,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let outcome = '';
    const destroy = (): void => {
      outcome ||= socket.readyState === WebSocket.OPEN ? 'ws:held' : 'ws:connecting at the end';
      socket.terminate();
    };
    t.stop.signal.addEventListener('abort', destroy, { once: true });
    socket.on('open', () => onOpen(socket));
    socket.on('message', (data: Buffer) => onMessage(socket, JSON.parse(data.toString()) as { type?: string }));
    socket.on('unexpected-response', (_req, res) => {
      outcome ||= `ws:upgrade:${res.statusCode ?? 0}`;
      socket.terminate();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (outcome ||= `ws:error:${error.code ?? 'other'}`));
    socket.on('close', (code: number) => {
      t.stop.signal.removeEventListener('abort', destroy);
      resolve(outcome || `ws:close:${code}`);
    });
  });
}
