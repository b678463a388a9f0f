import type { Consumer } from 'kafkajs';
import { consumerLag } from './metrics.ts';

export interface LagTracker {
  /** The offset this replica committed (the next it will read) on a partition. */
  committed(partition: number, nextOffset: string): void;
}

/**
 * Consumer lag from kafkajs' own offsets, no extra broker calls: each fetched
 * batch reports its partition's high watermark, each commit the next offset;
 * lag = high watermark - next offset. A handler stuck retrying keeps the lag
 * up; an idle, caught-up consumer reads 0.
 */
export function trackConsumerLag(consumer: Consumer, topic: string): LagTracker {
  const high = new Map<number, bigint>();
  consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic || payload.batchSize === 0) return;
    const mark = BigInt(payload.highWatermark);
    high.set(payload.partition, mark);
    // Before anything of this batch is committed, the whole batch and what follows it is behind.
    consumerLag.labels(topic, String(payload.partition)).set(Number(mark - BigInt(payload.firstOffset)));
  });
  return {
    committed(partition, nextOffset) {
      const mark = high.get(partition);
      if (mark === undefined) return;
      const lag = mark - BigInt(nextOffset);
      consumerLag.labels(topic, String(partition)).set(Number(lag > 0n ? lag : 0n));
    },
  };
}
