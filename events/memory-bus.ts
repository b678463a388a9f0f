import type { AggregationEvent } from './aggregation-event.ts';
import type { BusMessage, EventBus, MessageHandler } from './event-bus.ts';

/**
 * The embedded bus: delivers each message to every subscriber, in publish
 * order, and resolves `publish` once every handler has finished. A handler
 * that fails gets the message again (at least once), up to a bound, so one bad
 * message cannot stall the bus forever.
 */
export class MemoryBus implements EventBus {
  readonly name = 'memory';
  private readonly handlers: MessageHandler[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly maxAttempts = 3) {}

  publish(event: AggregationEvent, headers: Record<string, string> = {}): Promise<void> {
    return this.publishRaw(Buffer.from(JSON.stringify(event)), headers);
  }

  publishRaw(value: Buffer, headers: Record<string, string> = {}): Promise<void> {
    const message: BusMessage = { value, headers };
    const delivery = this.chain.then(() => this.deliver(message));
    this.chain = delivery.catch(() => undefined);
    return delivery;
  }

  async subscribe(handler: MessageHandler): Promise<void> {
    this.handlers.push(handler);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    await this.chain;
    this.handlers.length = 0;
  }

  private async deliver(message: BusMessage): Promise<void> {
    for (const handler of this.handlers) {
      for (let attempt = 1; ; attempt++) {
        try {
          await handler(message);
          break;
        } catch (error) {
          if (attempt >= this.maxAttempts) throw error;
        }
      }
    }
  }
}
