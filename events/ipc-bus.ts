import type { AggregationEvent } from './aggregation-event.ts';
import type { EventBus, MessageHandler } from './event-bus.ts';
import { MemoryBus } from './memory-bus.ts';

/**
 * A message channel to another process (node:cluster's IPC, or an in-process
 * pair in the tests). The same shape as store/ipc's channel, declared here
 * because events/ does not import store/.
 */
export interface EventChannel {
  send(message: unknown): void;
  /** Every message that arrives is handed to each handler; handlers ignore what is not theirs. */
  onMessage(handler: (message: unknown) => void): void;
}

export interface EventMessage {
  readonly t: 'event';
  readonly value: string;
  readonly headers: Record<string, string>;
}

const isEventMessage = (m: unknown): m is EventMessage => (m as EventMessage | undefined)?.t === 'event';

/**
 * The publishing side (the cluster primary in the embedded mode): each event
 * goes to every channel, where the other process's in-process bus delivers it.
 * It has no subscribers of its own.
 */
export function forwardingBus(channels: readonly EventChannel[]): EventBus {
  const send = async (value: Buffer, headers: Record<string, string> = {}): Promise<void> => {
    const message: EventMessage = { t: 'event', value: value.toString('utf8'), headers };
    for (const channel of channels) channel.send(message);
  };
  return {
    name: 'cluster-forward',
    publish: (event: AggregationEvent, headers?: Record<string, string>) => send(Buffer.from(JSON.stringify(event)), headers),
    publishRaw: send,
    subscribe: async (_handler: MessageHandler) => undefined,
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/** The receiving side (a cluster worker): events forwarded over `channel`, delivered in order. */
export function forwardedBus(channel: EventChannel): EventBus {
  const bus = new MemoryBus();
  channel.onMessage((m) => {
    if (isEventMessage(m)) void bus.publishRaw(Buffer.from(m.value, 'utf8'), m.headers).catch(() => undefined);
  });
  return bus;
}
