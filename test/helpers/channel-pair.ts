/** One end of an in-process channel: the shape of store/ipc's IpcChannel and events/ipc-bus's EventChannel. */
export interface ChannelEnd {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
}

/**
 * Two connected ends, standing in for node:cluster's IPC between a primary and
 * a worker. Each message is structured-cloned (what `serialization: 'advanced'`
 * does, so a Map or a BigInt that would not survive fails here too) and
 * delivered on a later turn, never inside `send`.
 */
export function channelPair(): [ChannelEnd, ChannelEnd] {
  const handlers: [((m: unknown) => void)[], ((m: unknown) => void)[]] = [[], []];
  const end = (mine: 0 | 1): ChannelEnd => ({
    send(message) {
      const copy = structuredClone(message);
      setImmediate(() => {
        for (const handler of handlers[mine === 0 ? 1 : 0]) handler(copy);
      });
    },
    onMessage(handler) {
      handlers[mine].push(handler);
    },
  });
  return [end(0), end(1)];
}
