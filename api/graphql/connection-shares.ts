import { ShareCounter } from '../../subscriptions/share-counter.ts';

/**
 * A caller past its connection share is closed with 1013 "Try Again Later"
 * (RFC 6455 registry) rather than 4429: graphql-ws already gives 4429 a
 * meaning (TooManyInitialisationRequests, a second connection_init) and its
 * client treats it as fatal, whereas 1013 is retried with backoff, which fits
 * a share that frees as soon as one of the caller's connections closes.
 */
export const SHARE_CLOSE_CODE = 1013;

export interface ShareLimits {
  /** Sockets open at once, authenticated or not. */
  readonly maxConnections: number;
  /** Authenticated connections one caller key (callerKey: a tenant, or an internal/billing subject) may hold. */
  readonly connectionsPerTenant: number;
  /** Authenticated connections one token may hold (a tenant's tokens share its tenant share). */
  readonly connectionsPerToken: number;
  /** Sockets not yet authenticated; past this, the oldest of them makes room. */
  readonly maxPendingConnections: number;
}

/** What an upgrade may do: proceed, proceed once `socket` (the oldest pending one) is evicted, or be refused. */
export type Room<S> = { readonly kind: 'free' } | { readonly kind: 'evict'; readonly socket: S } | { readonly kind: 'full' };

interface Holding {
  readonly caller: string;
  readonly token: string;
}

/**
 * The WebSocket connections of one process and who holds them. A socket is
 * pending from its upgrade until its token is verified and its share admits
 * it; it then holds one connection of its caller's share and one of its
 * token's, until it closes. Pending sockets have their own bound and are the
 * ones evicted under pressure, so idle unauthenticated sockets can never hold
 * the slots authenticated tenants need: each newcomer evicts the oldest
 * pending socket rather than being refused behind it.
 */
export class ConnectionShares<S extends object> {
  /** Sockets not yet holding a share, oldest first (a Set iterates in insertion order). */
  private readonly pending = new Set<S>();
  private readonly held = new Map<S, Holding>();
  private readonly perCaller = new ShareCounter();
  private readonly perToken = new ShareCounter();

  constructor(private readonly limits: ShareLimits) {}

  get total(): number {
    return this.pending.size + this.held.size;
  }

  /** Called before an upgrade is accepted; an upgrade that authenticated already never waits as pending. */
  room(authenticated = false): Room<S> {
    const crowded = (!authenticated && this.pending.size >= this.limits.maxPendingConnections) || this.total >= this.limits.maxConnections;
    if (!crowded) return { kind: 'free' };
    const oldest = this.pending.values().next();
    return oldest.done ? { kind: 'full' } : { kind: 'evict', socket: oldest.value };
  }

  opened(socket: S): void {
    this.pending.add(socket);
  }

  /** The caller evicts `socket` (it stops counting now, not when its close handshake ends). */
  evict(socket: S): void {
    this.pending.delete(socket);
  }

  /**
   * At connection_init, once the token is verified: undefined when the socket
   * now holds a share, else the close reason (at most 123 bytes). A refused
   * socket stays pending (evictable) until it is closed.
   */
  admit(socket: S, caller: string, token: string): string | undefined {
    // Closed or evicted while its token was being verified: it must not take a share it would never give back.
    if (!this.pending.has(socket)) return 'The connection closed during connection_init';
    return this.hold(socket, caller, token);
  }

  /** A socket authenticated at its upgrade takes its shares at once (it never was pending); else the close reason. */
  hold(socket: S, caller: string, token: string): string | undefined {
    const { connectionsPerTenant, connectionsPerToken } = this.limits;
    if (this.perCaller.of(caller) >= connectionsPerTenant) {
      return `Too many connections: ${connectionsPerTenant} per tenant is the limit; close one or retry later`;
    }
    if (this.perToken.of(token) >= connectionsPerToken) {
      return `Too many connections: ${connectionsPerToken} per token is the limit; close one or use another token`;
    }
    this.pending.delete(socket);
    this.held.set(socket, { caller, token });
    this.perCaller.add(caller);
    this.perToken.add(token);
    return undefined;
  }

  /** The socket closed, whatever its state: it gives back what it held. */
  closed(socket: S): void {
    this.pending.delete(socket);
    const holding = this.held.get(socket);
    if (!holding) return;
    this.held.delete(socket);
    this.perCaller.remove(holding.caller);
    this.perToken.remove(holding.token);
  }
}
