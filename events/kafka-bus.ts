import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import type { AggregationEvent } from './aggregation-event.ts';
import type { BusMessage, EventBus, MessageHandler } from './event-bus.ts';
import { trackConsumerLag } from '../observability/consumer-lag.ts';
import { traceProducer } from '../observability/event-trace.ts';

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /**
   * Consumer group. Each API replica uses its own, stable group (e.g.
   * `strata-api-<replica>`): every replica must see every event, because each
   * keeps its own watermarks in memory; a stable name resumes from the
   * committed offset after a restart, so nothing published meanwhile is lost.
   */
  readonly groupId: string;
  readonly clientId?: string;
  /** Delay between attempts when a handler fails (the message is retried, not skipped). */
  readonly retryDelayMs?: number;
}

/**
 * The production event bus on Kafka (kafkajs). Offsets are committed only
 * after the handler resolved (at least once); a failing handler is retried
 * with backoff in place, never crash-looping the consumer; kafkajs reconnects
 * by itself when the broker comes back.
 */
export class KafkaBus implements EventBus {
  readonly name = 'kafka';
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private stopping = false;
  private connected = false;

  constructor(private readonly options: KafkaBusOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'strata',
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 30 },
    });
  }

  async publish(event: AggregationEvent, headers: Record<string, string> = {}): Promise<void> {
    await this.publishRaw(Buffer.from(JSON.stringify(event)), headers, event.eventId);
  }

  async publishRaw(value: Buffer, headers: Record<string, string> = {}, key?: string): Promise<void> {
    const producer = await this.ensureProducer();
    // One partition key for all events keeps them in publish order (watermarks need order).
    await traceProducer(this.options.topic, headers, async (carried) => {
      await producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: [{ key: key ? 'aggregations' : null, value, headers: carried }],
      });
    });
  }

  async subscribe(handler: MessageHandler): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      retry: { retries: 30, maxRetryTime: 2000 },
    });
    this.consumer = consumer;
    const lag = trackConsumerLag(consumer, this.options.topic);
    await consumer.connect();
    await this.ensureTopic();
    const start = await retryRetriable(() => this.startOffsets());
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: false });
    consumer.on(consumer.events.CONNECT, () => (this.connected = true));
    consumer.on(consumer.events.DISCONNECT, () => (this.connected = false));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        await this.handleWithRetry(handler, toBusMessage(message));
        // Also while stopping: disconnect() waits for this handler, so a drained replica
        // commits what it applied and its successor does not apply it twice.
        const next = (BigInt(message.offset) + 1n).toString();
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
        lag.committed(partition, next);
      },
    });
    // A new group starts at the end offsets read *before* subscribe returned, so an event
    // published right after subscribing is never skipped by a late "latest" lookup.
    for (const { partition, offset } of start) consumer.seek({ topic: this.options.topic, partition, offset });
    this.connected = true;
  }

  /** End offsets of partitions this group has never committed on (empty for a known group). */
  private async startOffsets(): Promise<{ partition: number; offset: string }[]> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [this.options.topic] });
      const ends = await admin.fetchTopicOffsets(this.options.topic);
      const fresh = new Set(committed.flatMap((t) => t.partitions.filter((p) => p.offset === '-1').map((p) => p.partition)));
      return ends.filter((e) => fresh.has(e.partition)).map((e) => ({ partition: e.partition, offset: e.offset }));
    } finally {
      await admin.disconnect();
    }
  }

  async ping(): Promise<void> {
    // No retries: readiness wants the answer now, not after kafkajs' reconnect schedule.
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
  }

  /** Whether the consumer is connected (for readiness). */
  isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }

  private async handleWithRetry(handler: MessageHandler, message: BusMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await handler(message);
        return;
      } catch (error) {
        if (this.stopping) throw error;
        const delay = Math.min((this.options.retryDelayMs ?? 100) * 2 ** Math.min(attempt, 5), 5000);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async ensureProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
      await producer.connect();
      this.producer = producer;
      await this.ensureTopic();
    }
    return this.producer;
  }

  private topicReady: Promise<void> | undefined;

  private ensureTopic(): Promise<void> {
    this.topicReady ??= (async () => {
      // A failed attempt is forgotten, so the next call tries again.
      const admin = this.kafka.admin();
      try {
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: this.options.topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
    })().catch((error: unknown) => {
      this.topicReady = undefined;
      throw error;
    });
    return this.topicReady;
  }
}

function toBusMessage(message: KafkaMessage): BusMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return { value: message.value ?? Buffer.alloc(0), headers };
}

/**
 * Group-coordinator lookups fail with retriable errors (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS) while a broker is still loading its offsets
 * topic, and kafkajs' admin does not retry them: retry a few times here.
 */
async function retryRetriable<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
    }
  }
}
