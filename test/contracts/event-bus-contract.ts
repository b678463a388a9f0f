import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newAggregationEvent, parseAggregationEvent } from '../../events/aggregation-event.ts';
import type { BusMessage, EventBus } from '../../events/event-bus.ts';

const METRIC = 'io.confluent.kafka.server/received_bytes';

/** The event bus contract, run against every implementation (in-process, Kafka). */
export function eventBusContract(name: string, open: () => Promise<{ publisher: EventBus; subscriber: EventBus }>): void {
  let buses: { publisher: EventBus; subscriber: EventBus };
  const received: BusMessage[] = [];
  let failNext = 0;
  before(async () => {
    buses = await open();
    await buses.subscriber.subscribe(async (m) => {
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('transient handler failure');
      }
      received.push(m);
    });
  });
  after(async () => {
    await buses.publisher.close();
    if (buses.subscriber !== buses.publisher) await buses.subscriber.close();
  });

  const waitFor = async (pred: () => boolean, ms = 30_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting for delivery');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test(`${name}: events arrive in order with their headers`, async () => {
    const start = received.length;
    const events = [1, 2, 3].map((i) =>
      newAggregationEvent('rollup_1h', { start: i * 3600_000, end: (i + 1) * 3600_000 }, ['t-1'], [METRIC], Date.now()),
    );
    for (const e of events) await buses.publisher.publish(e, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    await waitFor(() => received.length >= start + 3);
    const got = received.slice(start).map((m) => parseAggregationEvent(m.value));
    assert.deepEqual(
      got.map((g) => (g.ok ? g.value.event.eventId : g.reason)),
      events.map((e) => e.eventId),
    );
    assert.equal(received[start]?.headers['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  test(`${name}: raw bytes are delivered as they are (validation is the listener's job)`, async () => {
    const start = received.length;
    await buses.publisher.publishRaw(Buffer.from('{not json'));
    await waitFor(() => received.length > start);
    assert.equal(received[start]?.value.toString(), '{not json');
  });

  test(`${name}: a handler failure redelivers the message (at least once)`, async () => {
    const start = received.length;
    failNext = 1;
    const e = newAggregationEvent('rollup_1d', { start: 0, end: 86_400_000 }, ['t-2'], [METRIC], Date.now());
    await buses.publisher.publish(e);
    await waitFor(() => received.length > start);
    const parsed = parseAggregationEvent(received[start]?.value ?? Buffer.alloc(0));
    assert.ok(parsed.ok && parsed.value.event.eventId === e.eventId);
  });
}
