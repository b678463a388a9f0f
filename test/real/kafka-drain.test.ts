import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaBus } from '../../events/kafka-bus.ts';
import { serviceEnv } from '../helpers/services.ts';

/**
 * Graceful shutdown on the real broker: closing the bus while a handler runs
 * lets the handler finish and commits its offset, so the replica's successor
 * (same consumer group) does not apply the event a second time.
 */
test('closing the bus mid-handler finishes the handler and commits: the successor starts after it', async () => {
  const brokers = serviceEnv('KAFKA_BROKERS').split(',');
  const topic = `drain-${Date.now()}`;
  const groupId = `drain-replica-${Date.now()}`;
  const publisher = new KafkaBus({ brokers, topic, groupId: `${groupId}-pub` });
  const first = new KafkaBus({ brokers, topic, groupId });
  const log: string[] = [];
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  await first.subscribe(async (message) => {
    log.push(`start ${message.value.toString()}`);
    started();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    log.push(`done ${message.value.toString()}`);
  });
  try {
    await publisher.publishRaw(Buffer.from('m1'));
    await handlerStarted;
    await first.close();
    assert.deepEqual(log, ['start m1', 'done m1'], 'close() waited for the running handler');

    const successor = new KafkaBus({ brokers, topic, groupId });
    const seen: string[] = [];
    let gotSecond!: () => void;
    const second = new Promise<void>((resolve) => (gotSecond = resolve));
    await successor.subscribe(async (message) => {
      seen.push(message.value.toString());
      if (message.value.toString() === 'm2') gotSecond();
    });
    await publisher.publishRaw(Buffer.from('m2'));
    await second;
    await successor.close();
    assert.deepEqual(seen, ['m2'], 'm1 was committed before the first replica left');
  } finally {
    await publisher.close();
  }
});
