import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { callerKey, tokenKey, type Principal } from '../../auth/principal.ts';
import { SHARE_CLOSE_CODE, type ConnectionShares } from './connection-shares.ts';

export const LIVE_PATH = '/graphql';

const EVICTED_REASON = 'Connection initialisation timeout: too many sockets await connection_init';

/** A verified bearer token and its principal. */
export interface Verified {
  readonly token: string;
  readonly principal: Principal;
}

export interface UpgradeDeps {
  readonly shares: ConnectionShares<WebSocket>;
  readonly maxConnections: number;
  readonly closing: () => boolean;
  /** Verifies an `Authorization` header; undefined when it does not verify. */
  readonly verify: (header: string) => Promise<Verified | undefined>;
  /** A socket authenticated at its upgrade, now holding its shares. */
  readonly admitted: (socket: WebSocket, verified: Verified) => void;
}

/**
 * WebSocket upgrades on `/graphql`. A client that sends `Authorization:
 * Bearer <token>` with the upgrade (a service; browsers cannot) is verified
 * first and takes its tenant's and token's shares at once, so it never waits
 * among the unauthenticated sockets, whose flood it then cannot be evicted by.
 * Other sockets are pending until connection_init (subscription-server.ts).
 */
export function acceptUpgrades(server: Server, wss: WebSocketServer, deps: UpgradeDeps): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(wss, deps, req, socket, head).catch(() => socket.destroy());
  });
}

async function upgrade(wss: WebSocketServer, deps: UpgradeDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const refused = upgradeRefusal(req, deps.closing());
  if (refused) return refuseUpgrade(socket, refused.status, refused.message);
  const header = req.headers.authorization;
  const verified = header === undefined ? undefined : await deps.verify(header);
  if (header !== undefined && !verified)
    return refuseUpgrade(socket, 401, 'Not authenticated: the Authorization header does not hold a valid token.');
  const full = makeRoom(deps.shares, deps.maxConnections, verified !== undefined);
  if (full) return refuseUpgrade(socket, full.status, full.message);
  wss.handleUpgrade(req, socket, head, (ws) => {
    // Registered before graphql-ws sees the socket, so a close at any stage (before init, mid-verification) gives its share back.
    ws.once('close', () => deps.shares.closed(ws));
    if (!verified) deps.shares.opened(ws);
    else {
      const refusal = deps.shares.hold(ws, callerKey(verified.principal), tokenKey(verified.token));
      if (refusal !== undefined) return ws.close(SHARE_CLOSE_CODE, refusal);
      deps.admitted(ws, verified);
    }
    wss.emit('connection', ws, req);
  });
}

interface Refusal {
  readonly status: number;
  readonly message: string;
}

function upgradeRefusal(req: IncomingMessage, closing: boolean): Refusal | undefined {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== LIVE_PATH) return { status: 404, message: `No WebSocket endpoint at ${path}; subscriptions are at ${LIVE_PATH}.` };
  if (closing) return { status: 503, message: 'The server is shutting down; reconnect (another replica will answer).' };
  return undefined;
}

/**
 * Past the pending bound or maxConnections, the oldest unauthenticated socket
 * is evicted (4408, as for graphql-ws's own init timeout; the client retries):
 * refusing the newcomer instead would let a flood of idle sockets, renewed
 * every connectionInitWaitMs, lock every tenant out. Only a server full of
 * authenticated connections refuses (503).
 */
function makeRoom(shares: ConnectionShares<WebSocket>, max: number, authenticated: boolean): Refusal | undefined {
  const room = shares.room(authenticated);
  if (room.kind === 'full') return { status: 503, message: `This server holds ${max} WebSocket connections, its limit; retry later.` };
  if (room.kind === 'evict') {
    shares.evict(room.socket);
    room.socket.close(CloseCode.ConnectionInitialisationTimeout, EVICTED_REASON);
    // No waiting for the peer's close frame (ws would wait 30 s): the slot is needed now.
    room.socket.terminate();
  }
  return undefined;
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };

/** An upgrade is refused with a plain HTTP answer, before any WebSocket exists. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ errors: [{ message }] });
  const retry = status === 503 ? 'Retry-After: 1\r\n' : '';
  const auth = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n${retry}${auth}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
