import type { AggregationEvent } from './aggregation-event.ts';

/** A message as delivered: the payload bytes plus headers (W3C trace context travels here). */
export interface BusMessage {
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Handles one message; resolves only when its effects are durable (then the bus commits). */
export type MessageHandler = (message: BusMessage) => Promise<void>;

/**
 * The event bus contract: the in-process bus and Kafka implement it, and one
 * contract suite runs against both. Delivery is at least once, in order per bus.
 */
export interface EventBus {
  readonly name: string;
  publish(event: AggregationEvent, headers?: Record<string, string>): Promise<void>;
  /** Publishes raw bytes (tests use it to send malformed messages). */
  publishRaw(value: Buffer, headers?: Record<string, string>): Promise<void>;
  subscribe(handler: MessageHandler): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
